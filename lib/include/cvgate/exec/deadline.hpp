#pragma once
// The one way a call is told "until when": a point on the steady clock. Every client call
// takes one; `with_deadline` (exec/with_deadline.hpp) is the one way to give up at it.

#include <algorithm>
#include <chrono>

namespace cvgate::exec {

using Clock = std::chrono::steady_clock;

class Deadline {
public:
    // No deadline: the call may take as long as it takes.
    constexpr Deadline() noexcept = default;
    static Deadline after(Clock::duration timeout) noexcept { return Deadline{Clock::now() + timeout}; }
    static constexpr Deadline at(Clock::time_point when) noexcept { return Deadline{when}; }
    static constexpr Deadline never() noexcept { return Deadline{}; }

    constexpr Clock::time_point when() const noexcept { return when_; }
    constexpr bool is_never() const noexcept { return when_ == Clock::time_point::max(); }
    bool passed() const noexcept { return !is_never() && Clock::now() >= when_; }
    // What is left, never negative.
    Clock::duration remaining() const noexcept {
        return is_never() ? Clock::duration::max() : std::max(when_ - Clock::now(), Clock::duration::zero());
    }
    // The sooner of the two.
    constexpr Deadline capped(Deadline other) const noexcept {
        return Deadline{std::min(when_, other.when_)};
    }
    // This one, or `timeout` from now when this one is never.
    Deadline or_after(Clock::duration timeout) const noexcept { return is_never() ? after(timeout) : *this; }

    friend constexpr bool operator==(Deadline, Deadline) noexcept = default;

private:
    constexpr explicit Deadline(Clock::time_point when) noexcept : when_{when} {}
    Clock::time_point when_ = Clock::time_point::max();
};

}  // namespace cvgate::exec
