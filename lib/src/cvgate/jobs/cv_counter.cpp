#include <cvgate/jobs/cv_counter.hpp>

#include <cvgate/text/json_fields.hpp>

#include <algorithm>

namespace cvgate::jobs {
namespace {

// One past the highest cv index of `cv_id` entries in the document's results and errors.
std::int64_t next_index_in(const boost::json::object& doc) {
    std::int64_t next = 0;
    for (const char* list : {"results", "errors"}) {
        const auto* v = doc.if_contains(list);
        if (!v || !v->is_array()) continue;
        for (const auto& entry : v->get_array()) {
            if (!entry.is_object()) continue;
            const std::string id = text::string_field(entry.get_object(), "cv_id").value_or("");
            const auto at = id.rfind('_');
            if (at == std::string::npos || at + 1 == id.size() || id.size() - at > 13) continue;
            std::int64_t index = 0;
            bool digits = true;
            for (char c : id.substr(at + 1)) {
                if (c < '0' || c > '9') digits = false;
                index = index * 10 + (c - '0');
            }
            if (digits) next = std::max(next, index + 1);
        }
    }
    return next;
}

}  // namespace

// Until the first add-cvs or erase creates the counter, the hot document's expected_files was
// only ever set by submit, so the job has handed out exactly 0..expected_files-1; cold storage
// and the files (when still there) can only say the same or less, and are taken as well for
// jobs older than the counter.
Task<std::int64_t> counter_seed(Ports& p, const std::string& job_id,
                                const std::optional<boost::json::object>& hot,
                                const std::optional<ColdJob>& cold) {
    std::int64_t seed = cold ? cold->next_cv_index : 0;
    if (hot)
        seed = std::max({seed, text::integer_field(*hot, "expected_files").value_or(0), next_index_in(*hot)});
    seed = std::max(seed, co_await p.uploads.next_cv_index(job_id));
    co_return seed;
}

}  // namespace cvgate::jobs
