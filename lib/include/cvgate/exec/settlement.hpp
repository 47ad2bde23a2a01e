#pragma once
// What became of a call its caller stopped waiting for. A call abandoned at its deadline after
// it started may still take effect (an insert lands, a publish is confirmed): its failure is
// *in doubt*. The exception then carries a Settlement, resolved once the abandoned call has
// returned, so that compensation runs after it and is never overtaken by it (CONTRACT.md,
// "Failure semantics").

#include <cvgate/exec/deadline.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace cvgate::exec {

class Settlement {
public:
    enum class Outcome {
        succeeded,  // the call returned success: it took effect
        failed,     // it returned an error (or, for a publish: nack, or the channel was lost)
    };

    // Any thread; the first outcome sticks.
    void resolve(Outcome outcome);
    std::optional<Outcome> outcome() const;

    // The outcome once the call has returned; nullopt if `deadline` came first.
    boost::asio::awaitable<std::optional<Outcome>> wait(Deadline deadline);

private:
    mutable std::mutex mutex_;
    std::optional<Outcome> outcome_;
    std::vector<std::function<void(Outcome)>> waiters_;
};

// Mixed into the exceptions of calls that failed at a deadline: `settlement()` is set when the
// call had started and may still take effect, null when the failure is certain.
class Doubt {
public:
    Doubt() = default;
    explicit Doubt(std::shared_ptr<Settlement> settlement) noexcept : settlement_{std::move(settlement)} {}
    Doubt(const Doubt&) = default;
    Doubt& operator=(const Doubt&) = default;
    virtual ~Doubt() = default;

    const std::shared_ptr<Settlement>& settlement() const noexcept { return settlement_; }

private:
    std::shared_ptr<Settlement> settlement_;
};

// The settlement an exception carries, or null (a certain failure, or no Doubt at all).
std::shared_ptr<Settlement> settlement_of(const std::exception_ptr& error) noexcept;

}  // namespace cvgate::exec
