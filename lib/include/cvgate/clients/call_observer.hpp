#pragma once
// What a client tells about each of its calls, from the one place all its calls pass (a
// MongoDB client's run, the PostgreSQL pool's run, the publisher's calls, the upload volume's
// run): which operation, under which name its caller gave it, how long it took, how it ended.
// The application turns these into its metrics; the clients know nothing of metrics.

#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/with_deadline.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>

namespace cvgate::clients {

struct CallRecord {
    std::string_view operation;  // the client's own: insert_one, query, transaction, publish...
    std::string_view name;       // the caller's for it (an adapter names its port operation), or empty
    std::chrono::steady_clock::duration duration;
    bool ok;
    std::optional<ErrorKind>
        error;  // a failure's kind, when it was a ClientError (a missed deadline: timeout)
};

// Called on whichever thread the call ended on; must not throw.
using CallObserver = std::function<void(const CallRecord&)>;

// Awaits `call` and reports it to `observer` (when set), whether it returned or threw.
template <typename T>
boost::asio::awaitable<T> observed(const CallObserver& observer, std::string_view operation,
                                   std::string_view name, boost::asio::awaitable<T> call) {
    if (!observer) co_return co_await std::move(call);
    const auto start = std::chrono::steady_clock::now();
    const auto report = [&](bool ok, std::optional<ErrorKind> error) {
        observer(CallRecord{operation, name, std::chrono::steady_clock::now() - start, ok, error});
    };
    std::exception_ptr failure;
    std::optional<ErrorKind> kind;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(call);
            report(true, std::nullopt);
            co_return;
        } else {
            T result = co_await std::move(call);
            report(true, std::nullopt);
            co_return result;
        }
    } catch (const ClientError& e) {
        failure = std::current_exception();
        kind = e.kind();
    } catch (const exec::DeadlineExceeded&) {
        failure = std::current_exception();
        kind = ErrorKind::timeout;
    } catch (...) {
        failure = std::current_exception();
    }
    report(false, kind);
    std::rethrow_exception(failure);
}

}  // namespace cvgate::clients
