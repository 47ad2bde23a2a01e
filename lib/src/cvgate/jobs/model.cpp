#include <cvgate/jobs/model.hpp>

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace cvgate::jobs {

std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1'000'000;
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];  // sized for any int the format could see, to keep -Wformat-truncation quiet
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
    return buf;
}

boost::json::object hot_document(std::string_view job_id, std::string_view correlation_id,
                                 std::string_view jd_text, std::size_t expected_files,
                                 std::string_view created_at) {
    return boost::json::object{
        {"_id", job_id},
        {"correlation_id", correlation_id},
        {"jd_text", jd_text},
        {"status", "pending"},
        {"expected_files", static_cast<std::int64_t>(expected_files)},
        {"results", boost::json::array{}},
        {"errors", boost::json::array{}},
        {"created_at", created_at},
    };
}

boost::json::object job_message(std::string_view job_id, std::string_view correlation_id,
                                std::string_view jd_text, bool use_delay, const std::vector<CvFile>& files) {
    boost::json::array paths;
    for (const auto& f : files)
        paths.push_back(boost::json::object{
            {"cv_id", f.cv_id}, {"file_path", f.file_path}, {"original_filename", f.original_filename}});
    return boost::json::object{
        {"job_id", job_id},
        {"correlation_id", correlation_id},
        {"jd_text", jd_text},
        {"use_delay", use_delay},
        {"file_paths", std::move(paths)},
        {"expected_file_count", static_cast<std::int64_t>(files.size())},
    };
}

boost::json::array cv_details(const std::vector<CvFile>& files) {
    boost::json::array out;
    for (const auto& f : files)
        out.push_back(boost::json::object{{"cv_id", f.cv_id}, {"original_filename", f.original_filename}});
    return out;
}

boost::json::object skipped_warnings(const std::vector<SkippedFile>& skipped) {
    boost::json::array names, details;
    for (const auto& s : skipped) {
        names.push_back(boost::json::string{s.filename});
        details.push_back(boost::json::object{{"filename", s.filename}, {"reason", s.reason}});
    }
    return boost::json::object{{"skipped_count", static_cast<std::int64_t>(skipped.size())},
                               {"skipped_files", std::move(names)},
                               {"details", std::move(details)}};
}

}  // namespace cvgate::jobs
