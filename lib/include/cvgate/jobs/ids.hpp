#pragma once
// The pipeline's identifiers: job ids (UUID v4) and cv ids (`550e8400_000`).

#include <cstddef>
#include <string>
#include <string_view>

namespace cvgate::jobs {

std::string new_job_id();
// True for a lowercase-or-uppercase UUID v4; the api answers 400 otherwise.
bool is_job_id(std::string_view text) noexcept;
// First 8 characters of the job id, `_`, the index zero-padded to 3 digits (wider past 999).
std::string cv_id(std::string_view job_id, std::size_t index);
// True when `cv_id` is a well-formed cv id of `job_id`.
bool is_cv_id_of(std::string_view cv_id, std::string_view job_id) noexcept;

}  // namespace cvgate::jobs
