#pragma once
// Crash recovery: what a submit or add-cvs recorded in its Intent, undone as its own rollback
// would have, for a request that never answered because its process was killed. Which
// intents are a dead replica's is the volume's to say (adapters/upload_volume.hpp).

#include <cvgate/jobs/ports.hpp>

namespace cvgate::jobs {

// Undoes the hot-storage change an intent names, whoever undoes it (the request's own
// rollback, its in-doubt compensation, or crash recovery): the document a submit inserted or
// an add-cvs re-created goes; a reopen known to have applied is undone; a reopen that may
// have applied is undone only if it did. True when something was undone.
Task<bool> undo_hot(HotStore& hot, const Intent& intent);

// Removes the files an intent names: a submit's whole job directory (the job is its own, and
// place() may have created the directory), an add-cvs's own files only.
Task<void> undo_files(UploadStore& uploads, const Intent& intent);

// Best effort per step, like every rollback; failures are reported to the observer and make
// it throw at the end, so the intent is kept and tried again at the next sweep.
Task<void> roll_back(Ports ports, const Intent& intent);

}  // namespace cvgate::jobs
