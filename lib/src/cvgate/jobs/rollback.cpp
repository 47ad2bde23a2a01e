#include <cvgate/jobs/rollback.hpp>

#include <cvgate/exec/settlement.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/recovery.hpp>
#include <cvgate/jobs/settler.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cvgate::jobs {

using Outcome = exec::Settlement::Outcome;

// Owned by the rollback and by the in-doubt work it hands to the settler: that runs after the
// request's frame is gone.
struct Rollback::State {
    Ports p;
    std::string_view flow;
    std::string_view failed;
    RequestContext request;
    Intent intent;
    std::vector<Undo> pushed;
    std::shared_ptr<exec::Settlement> hot_doubt;  // a hot change in flight failed in doubt

    const std::string& job_id() const noexcept { return intent.job_id; }

    void rolling_back(std::string_view stage, std::string_view cause) {
        p.observer.rollback(flow, stage, job_id(), cause, request);
    }
    void step_failed(std::string_view step, const std::exception& e) {
        p.observer.rollback_failed(flow, step, job_id(), e.what(), request);
    }

    // Each undoing step is best effort: a failure is reported, never thrown over the original error.
    Task<bool> undo_hot_change() {
        try {
            co_return co_await undo_hot(p.hot, intent);
        } catch (const std::exception& e) {
            step_failed("undo hot storage", e);
        }
        co_return false;
    }

    Task<void> undo_files_placed() {
        try {
            co_await undo_files(p.uploads, intent);
        } catch (const std::exception& e) {
            step_failed("remove files", e);
        }
    }

    // What was pushed, latest first; true when a hot change was undone.
    Task<bool> undo_pushed() {
        bool hot_undone = false;
        for (auto it = pushed.rbegin(); it != pushed.rend(); ++it) {
            if (*it == Undo::hot_change)
                hot_undone = co_await undo_hot_change();
            else
                co_await undo_files_placed();
        }
        co_return hot_undone;
    }

    // The journal entry goes once the request answered or rolled back. If that fails, the entry
    // outlives us and a sweep after our death would undo a job that is complete: said loudly.
    Task<void> forget() {
        try {
            co_await p.uploads.forget(intent.id);
        } catch (const std::exception& e) {
            step_failed("forget journal entry", e);
        }
    }

    Task<void> keep_undone(exec::Deadline until);
    static void undo_when_settled(std::shared_ptr<State> self, Step step,
                                  std::shared_ptr<exec::Settlement> doubt);
    static std::shared_ptr<exec::Settlement> accept_or_undo_when_settled(
        std::shared_ptr<State> self, std::shared_ptr<exec::Settlement> doubt, std::size_t files);

    // The 503's detail: "Hot storage timed out: the job was not created".
    std::string answer(Step step, std::string_view how) const {
        return std::string{step.name} + " " + std::string{how} + ": " +
               std::string{step.failed.empty() ? failed : step.failed};
    }
};

namespace {

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown error";
    }
}

// The step's own refusal (not found, "retry"), answered as it is; null for a failure of a
// dependency, which the step answers with its 503.
std::exception_ptr own_error(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const Error&) {
        return failure;
    } catch (...) {
        return nullptr;
    }
}

// After a call failed in doubt: waits in the background (the request answers 503 now) until
// the call has returned or the in-doubt limit passed, then runs `then` with what it returned
// (nullopt: it never did; treated as having taken effect).
void when_settled(Ports& p, std::shared_ptr<exec::Settlement> doubt,
                  std::function<Task<void>(std::optional<Outcome>)> then) {
    const auto limit = p.settler.limit();
    auto work = [doubt = std::move(doubt), limit, then = std::move(then)]() -> Task<void> {
        const auto outcome = co_await doubt->wait(exec::Deadline::after(limit));
        co_await then(outcome);
    };
    p.settler.spawn(std::move(work));
}

}  // namespace

// Until `until`, every few seconds: a hot change that may still land late (a server that hung
// applies a command it read before it hung, on a connection the driver gave up) is undone if
// it does: the document is removed again, the reopen undone. Stops once a reopen was undone:
// a call takes effect once at most.
Task<void> Rollback::State::keep_undone(exec::Deadline until) {
    boost::asio::steady_timer pause{co_await boost::asio::this_coro::executor};
    while (!until.passed()) {
        pause.expires_after(std::min<exec::Clock::duration>(std::chrono::seconds{2}, until.remaining()));
        co_await pause.async_wait(boost::asio::use_awaitable);
        try {
            if (co_await undo_hot(p.hot, intent)) {
                rolling_back("hot_storage", "the in-doubt " +
                                                std::string{intent.hot == "reopening" ? "reopen" : "insert"} +
                                                " took effect late; undone");
                if (intent.hot == "reopening") co_return;
            }
        } catch (const std::exception& e) {
            step_failed("undo a late hot change", e);
        }
    }
}

// A hot change failed in doubt (its call may still land): the request answers 503 now; what
// was pushed and the journal entry are undone once the call has returned.
void Rollback::State::undo_when_settled(std::shared_ptr<State> self, Step step,
                                        std::shared_ptr<exec::Settlement> doubt) {
    const auto until = exec::Deadline::after(self->p.settler.limit());
    // Until then, this replica changes the job's expected_files no further (Settler::hold):
    // whether the reopen applied is read from that value.
    self->p.settler.hold(self->job_id());
    auto then = [self, stage = step.stage, until](std::optional<Outcome> outcome) -> Task<void> {
        // Whatever the call said: a document goes (deleting is harmless), a reopen is undone
        // if the value shows it applied (a lost reply returns an error for a change that landed).
        const bool undone = co_await self->undo_pushed();
        // The journal entry stays until the in-doubt limit: crash recovery covers a kill meanwhile.
        if (!(undone && self->intent.hot == "reopening")) co_await self->keep_undone(until);
        co_await self->forget();
        self->p.settler.release(self->job_id());
        self->p.observer.in_doubt(self->flow, stage, self->job_id(), "rolled_back", outcome.has_value(),
                                  self->request);
    };
    when_settled(self->p, std::move(doubt), std::move(then));
}

// The publish failed in doubt: the broker may still confirm it. The job's document and files
// stay until it settles: confirmed → the job is valid (accepted late); nack, channel lost or
// no word within the in-doubt limit → rolled back. The verdict says which, for the
// Idempotency-Key.
std::shared_ptr<exec::Settlement> Rollback::State::accept_or_undo_when_settled(
    std::shared_ptr<State> self, std::shared_ptr<exec::Settlement> doubt, std::size_t files) {
    auto verdict = std::make_shared<exec::Settlement>();
    auto then = [self, files, verdict](std::optional<Outcome> outcome) -> Task<void> {
        if (outcome == Outcome::succeeded) {
            co_await self->forget();
            self->p.observer.accepted(self->flow, files);
            self->p.observer.in_doubt(self->flow, queue.stage, self->job_id(), "accepted_late", true,
                                      self->request);
            verdict->resolve(Outcome::succeeded);
            co_return;
        }
        self->rolling_back(queue.stage,
                           outcome ? "the broker refused the in-doubt publish, or the channel was lost"
                                   : "the in-doubt publish did not settle in time");
        co_await self->undo_pushed();
        co_await self->forget();
        self->p.observer.in_doubt(self->flow, queue.stage, self->job_id(), "rolled_back", outcome.has_value(),
                                  self->request);
        verdict->resolve(Outcome::failed);
    };
    when_settled(self->p, std::move(doubt), std::move(then));
    return verdict;
}

Rollback::Rollback(Ports ports, std::string_view flow, std::string_view failed, RequestContext request,
                   Intent intent)
    : state_{std::make_shared<State>(
          State{ports, flow, failed, std::move(request), std::move(intent), {}, {}})} {}

Intent& Rollback::intent() noexcept { return state_->intent; }

void Rollback::push(Undo undo) { state_->pushed.push_back(undo); }

void Rollback::failed_hot_change(const std::exception_ptr& failure) {
    state_->hot_doubt = exec::settlement_of(failure);
    if (!state_->hot_doubt) state_->intent.hot.clear();  // a certain failure: the change did not happen
}

Task<std::exception_ptr> Rollback::undo_after(Step step, std::exception_ptr failure) {
    auto& s = *state_;
    s.rolling_back(step.stage, what_of(failure));
    if (auto doubt = std::exchange(s.hot_doubt, nullptr)) {
        State::undo_when_settled(state_, step, std::move(doubt));
        co_return std::make_exception_ptr(Error{ErrorKind::unavailable, s.answer(step, "timed out")});
    }
    co_await s.undo_pushed();
    co_await s.forget();
    if (auto own = own_error(failure)) co_return own;
    co_return std::make_exception_ptr(Error{ErrorKind::unavailable, s.answer(step, "unavailable")});
}

Task<void> Rollback::publish(Task<void> call, const Accepted& accepted) {
    std::exception_ptr failure;
    try {
        co_await std::move(call);
        co_return;
    } catch (...) {
        failure = std::current_exception();
    }
    auto& s = *state_;
    if (auto doubt = exec::settlement_of(failure)) {
        auto verdict = State::accept_or_undo_when_settled(state_, std::move(doubt), accepted.cvs.size());
        throw AcceptanceInDoubt{s.answer(queue, "timed out"), accepted, std::move(verdict)};
    }
    std::rethrow_exception(co_await undo_after(queue, std::move(failure)));
}

Task<void> Rollback::done() { co_await state_->forget(); }

}  // namespace cvgate::jobs
