#pragma once
// Crash recovery: what a submit or add-cvs recorded in its Intent, undone as its own rollback
// would have, for a request that never answered because its process was killed. Which
// intents are a dead replica's is the volume's to say (adapters/upload_volume.hpp).

#include <cvgate/jobs/ports.hpp>

namespace cvgate::jobs {

// Best effort per step, like every rollback; failures are reported to the observer and make
// it throw at the end, so the intent is kept and tried again at the next sweep.
Task<void> roll_back(Ports ports, const Intent& intent);

}  // namespace cvgate::jobs
