#include <cvgate/jobs/ids.hpp>

#include <cvgate/ids/uuid.hpp>

#include <cstdio>

namespace cvgate::jobs {

std::string new_job_id() { return ids::uuid_v4(); }

bool is_job_id(std::string_view text) noexcept { return ids::is_uuid_v4(text); }

std::string cv_id(std::string_view job_id, std::size_t index) {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%03zu", index);
    std::string out{job_id.substr(0, 8)};
    out += '_';
    out += digits;
    return out;
}

bool is_cv_id_of(std::string_view cv_id, std::string_view job_id) noexcept {
    if (cv_id.size() < 12 || cv_id.size() > 30 || job_id.size() < 8) return false;
    if (cv_id.substr(0, 8) != job_id.substr(0, 8) || cv_id[8] != '_') return false;
    for (char c : cv_id.substr(9))
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace cvgate::jobs
