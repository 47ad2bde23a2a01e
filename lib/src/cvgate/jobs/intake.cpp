#include <cvgate/jobs/intake.hpp>

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/ids.hpp>
#include <cvgate/text/utf8.hpp>

#include <algorithm>
#include <cctype>

namespace cvgate::jobs {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

Task<void> Intake::field(std::string_view name, std::string value) {
    if (fingerprint_) {
        fingerprint_->add(name);
        fingerprint_->add(value);
    }
    if (name == "jd_text")
        jd_text_ = std::move(value);
    else if (name == "use_delay")
        use_delay_ = std::move(value);
    co_return;  // other fields are ignored, as FastAPI does
}

Task<void> Intake::file_begin(std::string_view raw_filename) {
    ++uploaded_;
    if (fingerprint_) fingerprint_->add(raw_filename);
    filename_ = clean_filename(raw_filename);
    check_.emplace(filename_, limits_.max_file_size);
    staged_.reset();
    if (check_->declared_type()) staged_ = co_await uploads_.stage();
}

Task<void> Intake::file_data(std::string_view chunk) {
    if (fingerprint_) fingerprint_->data(chunk);
    if (!check_->feed(chunk)) {
        staged_.reset();  // rejected mid-stream: the rest of the part is read and dropped
        co_return;
    }
    if (staged_) co_await staged_->write(chunk);
}

Task<void> Intake::flush() {
    if (staged_) co_await staged_->flush();
}

Task<void> Intake::file_end() {
    auto type = check_->finish();
    if (type && staged_) {
        co_await staged_->complete();  // keeps no buffer until it is placed, and is synced meanwhile
        accepted_.push_back({std::move(staged_), filename_, *type});
    } else {
        skipped_.push_back({filename_, check_->reason()});
        staged_.reset();
    }
    check_.reset();
    co_return;
}

Form validate_form(const Intake& intake, const Limits& limits) {
    Form form;
    if (!intake.jd_text()) throw Error{ErrorKind::invalid_form, "jd_text: field required"};
    const std::string_view jd = trim(*intake.jd_text());
    const auto chars = text::utf8_code_points(jd);
    if (!chars) throw Error{ErrorKind::invalid_form, "jd_text: must be valid UTF-8 text"};
    // PostgreSQL text cannot hold U+0000: accepted, the job could never be synced.
    if (jd.find('\0') != std::string_view::npos)
        throw Error{ErrorKind::invalid_form, "jd_text: must not contain U+0000 (NUL)"};
    if (*chars < limits.jd_min_length)
        throw Error{ErrorKind::invalid_form,
                    "jd_text: must be at least " + std::to_string(limits.jd_min_length) + " characters"};
    if (*chars > limits.jd_max_length)
        throw Error{ErrorKind::invalid_form,
                    "jd_text: must be at most " + std::to_string(limits.jd_max_length) + " characters"};
    form.jd_text = std::string{jd};

    if (intake.use_delay()) {
        std::string v{trim(*intake.use_delay())};
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
        if (v == "true" || v == "1" || v == "yes" || v == "on")
            form.use_delay = true;
        else if (v == "false" || v == "0" || v == "no" || v == "off")
            form.use_delay = false;
        else
            throw Error{ErrorKind::invalid_form,
                        "use_delay: must be a boolean (true/false/1/0/yes/no/on/off)"};
    }
    return form;
}

void require_files(const Intake& intake) {
    if (intake.files_uploaded() == 0) throw Error{ErrorKind::bad_request, "No files uploaded"};
    if (!intake.accepted_count()) {
        auto skipped = skipped_warnings(intake.skipped());  // the lists a 202's warnings carry
        throw Error{
            ErrorKind::bad_request,
            boost::json::object{{"message", "All files were invalid or failed validation"},
                                {"skipped_files", std::move(skipped["skipped_files"])},
                                {"details", std::move(skipped["details"])},
                                {"total_uploaded", static_cast<std::int64_t>(intake.files_uploaded())},
                                {"valid_files", 0}},
            "all files rejected"};
    }
}

Task<std::vector<CvFile>> place_files(UploadStore& uploads, Intake& intake, std::string_view job_id,
                                      std::int64_t first_index, Intent& intent) {
    std::vector<Placement> placements;
    std::vector<CvFile> cvs;
    std::int64_t index = first_index;
    for (auto& a : intake.accepted()) {
        CvFile cv{cv_id(job_id, static_cast<std::size_t>(index++)), a.original_filename, {}};
        placements.push_back({a.file.get(), cv.cv_id + std::string{extension_of(a.type)}});
        intent.files.push_back(placements.back().name);
        cvs.push_back(std::move(cv));
    }
    co_await uploads.record(intent);
    auto paths = co_await uploads.place(job_id, std::move(placements));
    for (std::size_t i = 0; i < cvs.size(); ++i) cvs[i].file_path = std::move(paths[i]);
    co_return cvs;
}

}  // namespace cvgate::jobs
