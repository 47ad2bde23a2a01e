#pragma once
// One upload form (submit or add-cvs) as it streams in: fields kept, each file part checked
// on the fly and, while it passes, written straight to a staged file on the volume.

#include <cvgate/jobs/cv_file.hpp>
#include <cvgate/jobs/fingerprint.hpp>
#include <cvgate/jobs/limits.hpp>
#include <cvgate/jobs/model.hpp>
#include <cvgate/jobs/ports.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cvgate::jobs {

class Intake {
public:
    // A file part that passed the checks, staged until it is placed.
    struct AcceptedFile {
        std::unique_ptr<StagedFile> file;
        std::string original_filename;
        CvType type;
    };

    Intake(UploadStore& uploads, const Limits& limits) : uploads_{uploads}, limits_{limits} {}

    Task<void> field(std::string_view name, std::string value);
    Task<void> file_begin(std::string_view raw_filename);
    Task<void> file_data(std::string_view chunk);
    Task<void> file_end();
    // The body waits for the network: buffered file bytes go to the volume meanwhile.
    Task<void> flush();

    // From now on, everything the form carries (fields, file names and bytes, skipped files
    // included) is hashed: the request's identity for an Idempotency-Key.
    void fingerprint_body() { fingerprint_ = std::make_unique<Fingerprint>(); }
    // The hash, hex (empty unless fingerprint_body() was called); once, after the form was read.
    std::string fingerprint() { return fingerprint_ ? fingerprint_->hex() : std::string{}; }

    std::vector<AcceptedFile>& accepted() noexcept { return accepted_; }
    std::size_t accepted_count() const noexcept { return accepted_.size(); }
    const std::vector<SkippedFile>& skipped() const noexcept { return skipped_; }
    std::size_t files_uploaded() const noexcept { return uploaded_; }
    const std::optional<std::string>& jd_text() const noexcept { return jd_text_; }
    const std::optional<std::string>& use_delay() const noexcept { return use_delay_; }

private:
    UploadStore& uploads_;
    Limits limits_;
    std::vector<AcceptedFile> accepted_;
    std::vector<SkippedFile> skipped_;
    std::size_t uploaded_ = 0;
    std::optional<std::string> jd_text_;
    std::optional<std::string> use_delay_;
    // the file part being received
    std::optional<CvFileCheck> check_;
    std::unique_ptr<StagedFile> staged_;
    std::string filename_;
    std::unique_ptr<Fingerprint> fingerprint_;
};

// The validated form: jd_text trimmed, use_delay parsed. Throws Error(invalid_form) (422).
struct Form {
    std::string jd_text;
    bool use_delay = true;
};
Form validate_form(const Intake& intake, const Limits& limits);

// The form carries at least one file, and at least one passed the checks. Throws
// Error(bad_request) (400): "No files uploaded", or every file rejected, with the details.
void require_files(const Intake& intake);

// Step 1 of submit and add-cvs: the accepted files under their final names in the job's
// directory (`{cv_id}{ext}`, cv indexes from `first_index`), flushed to disk. The journal entry
// first, naming them: from then on, a killed process leaves what another replica undoes. On
// failure none of them is left (UploadStore::place).
Task<std::vector<CvFile>> place_files(UploadStore& uploads, Intake& intake, std::string_view job_id,
                                      std::int64_t first_index, Intent& intent);

}  // namespace cvgate::jobs
