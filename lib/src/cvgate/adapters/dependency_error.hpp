#pragma once
// Where a client's failure becomes the domain's (jobs::DependencyError): the dependency the port
// stands for, the kind, why, and — for a call that may still take effect — its settlement, so
// that the flows' in-doubt rules (exec::settlement_of) still see it. What it says is the
// client's, word for word: the logs read the same on both sides of the port.

#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/with_deadline.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/ports.hpp>

#include <utility>

namespace cvgate::adapters {

jobs::DependencyError dependency_error(jobs::Dependency dependency, const clients::ClientError& error);
// A call given up at its deadline (exec::with_deadline) is a timeout of the dependency it was for.
jobs::DependencyError dependency_error(jobs::Dependency dependency, const exec::DeadlineExceeded& error);

// A failure of the upload volume, which its adapter meets without a client in between: said as a
// client's would be ("volume unavailable: ..."), thrown as the domain's.
jobs::DependencyError volume_error(clients::ErrorKind kind, const std::string& message);

// Awaits a client's `call` and throws its failure as the domain's.
template <typename T>
jobs::Task<T> translated(jobs::Dependency dependency, jobs::Task<T> call) {
    try {
        co_return co_await std::move(call);  // a void one too: co_return of a void expression
    } catch (const clients::ClientError& e) {
        throw dependency_error(dependency, e);
    } catch (const exec::DeadlineExceeded& e) {
        throw dependency_error(dependency, e);
    }
}

}  // namespace cvgate::adapters
