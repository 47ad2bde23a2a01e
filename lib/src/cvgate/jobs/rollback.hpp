#pragma once
// The rollback of submit and add-cvs (CONTRACT.md, each step "with its rollback", and "Failure
// semantics"): a scope that collects what to undo as the steps take effect and, when a later
// step fails, undoes it in reverse order — at once when the failure is certain, once the
// abandoned call has returned when it is in doubt (the Settler). The request's journal entry
// (its Intent) goes last, whatever happened. Internal to the flows.

#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/ports.hpp>

#include <exception>
#include <memory>
#include <string_view>
#include <utility>

namespace cvgate::jobs {

// A step of submit and add-cvs, as its rollback's log line (`stage`) and its 503 name it.
struct Step {
    std::string_view stage;   // "disk", "hot_storage", "queue"
    std::string_view name;    // "Upload volume", "Hot storage", "Job queue"
    std::string_view failed;  // what its 503 says did not happen, when not the flow's own words
};

inline constexpr Step disk{"disk", "Upload volume", "the files could not be stored"};
inline constexpr Step hot_storage{"hot_storage", "Hot storage", {}};
inline constexpr Step queue{"queue", "Job queue", {}};

// What a step leaves behind for a later failure to undo, as the request's Intent names it.
enum class Undo {
    files,       // the files the intent names; a submit's whole job directory (undo_files)
    hot_change,  // the hot-storage change the intent names, if it took effect (undo_hot)
};

class Rollback {
public:
    // `flow`: a literal, "submit" or "add_cvs"; `failed`: what its 503s say did not happen.
    Rollback(Ports ports, std::string_view flow, std::string_view failed, RequestContext request,
             Intent intent);

    Intent& intent() noexcept;

    // What a step left behind, undone (latest first) if a later step fails.
    void push(Undo undo);

    // Runs a step. If it fails: the rollback is logged, what was pushed is undone, the journal
    // entry goes, and the step's 503 is thrown — or the step's own jobs::Error (404, "retry").
    // When what failed was a hot change in flight (changing_hot) and its failure is in doubt,
    // the undoing waits for the call to return, in the background, and the 503 says "timed out".
    template <typename T>
    Task<T> attempt(Step step, Task<T> call);

    // Within a step: the call that makes the hot change `change` (what Intent::hot names). If
    // it fails for certain, it changed nothing; in doubt, the change is undone once it returned.
    template <typename T>
    Task<T> changing_hot(std::string_view change, Task<T> call);

    // The queue step: publish and wait for the broker's confirm. Failing in doubt, the job stays
    // until the broker settles it — confirmed: accepted late; else rolled back — and the 503 is
    // an AcceptanceInDoubt carrying `accepted`, the 202 it would be.
    Task<void> publish(Task<void> call, const Accepted& accepted);

    // The request answered 202: nothing to undo, and the journal entry goes.
    Task<void> done();

private:
    struct State;

    // What attempt() throws once the step's failure was handled.
    Task<std::exception_ptr> undo_after(Step step, std::exception_ptr failure);
    void failed_hot_change(const std::exception_ptr& failure);

    std::shared_ptr<State> state_;
};

template <typename T>
Task<T> Rollback::attempt(Step step, Task<T> call) {
    std::exception_ptr failure;
    try {
        co_return co_await std::move(call);  // a void one too: co_return of a void expression
    } catch (...) {
        failure = std::current_exception();
    }
    std::rethrow_exception(co_await undo_after(step, std::move(failure)));
}

template <typename T>
Task<T> Rollback::changing_hot(std::string_view change, Task<T> call) {
    intent().hot = change;
    std::exception_ptr failure;
    try {
        co_return co_await std::move(call);
    } catch (...) {
        failure = std::current_exception();
    }
    failed_hot_change(failure);
    std::rethrow_exception(failure);
}

}  // namespace cvgate::jobs
