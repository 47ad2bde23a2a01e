#pragma once
// The shapes the pipeline's other services read: the hot-storage document and the queue
// message (`JobIntakeMessage`), field for field.

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace cvgate::jobs {

struct CvFile {
    std::string cv_id;
    std::string original_filename;
    std::string file_path;  // absolute, on the shared volume
};

struct SkippedFile {
    std::string filename;
    std::string reason;
};

// UTC now as Python's `datetime.utcnow().isoformat()`: `2025-11-17T10:30:00.123456`.
std::string utc_timestamp();

boost::json::object hot_document(std::string_view job_id, std::string_view correlation_id,
                                 std::string_view jd_text, std::size_t expected_files,
                                 std::string_view created_at);

boost::json::object job_message(std::string_view job_id, std::string_view correlation_id,
                                std::string_view jd_text, bool use_delay, const std::vector<CvFile>& files);

// `[{"cv_id", "original_filename"}]` as the 202 answers carry it.
boost::json::array cv_details(const std::vector<CvFile>& files);
// The `warnings` object of a 202, or the lists of the all-rejected 400.
boost::json::object skipped_warnings(const std::vector<SkippedFile>& skipped);

}  // namespace cvgate::jobs
