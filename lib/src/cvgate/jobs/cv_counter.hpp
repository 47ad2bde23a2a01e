#pragma once
// Where a job's cv counter starts (ColdStore::allocate_cv_indexes), for add-cvs and erase: cv
// ids are never handed out twice, whatever became of the files or of erased candidates.

#include <cvgate/jobs/ports.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace cvgate::jobs {

// One past every cv index the job has handed out, from what the stores still say of it: the
// hot document (`hot`), the cold job (`cold`) and the files on the volume.
Task<std::int64_t> counter_seed(Ports& ports, const std::string& job_id,
                                const std::optional<boost::json::object>& hot,
                                const std::optional<ColdJob>& cold);

}  // namespace cvgate::jobs
