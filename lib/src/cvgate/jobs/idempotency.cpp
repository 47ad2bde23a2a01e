#include <cvgate/jobs/idempotency.hpp>

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/settler.hpp>

#include <exception>

namespace cvgate::jobs {

bool is_idempotency_key(std::string_view key) noexcept {
    if (key.empty() || key.size() > 128) return false;
    for (char c : key) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

namespace {

// The verdict of an in-doubt acceptance, and the 202 it would have answered; null when the
// failure is certain.
std::shared_ptr<exec::Settlement> verdict_of(const std::exception_ptr& failure, boost::json::object& answer) {
    try {
        std::rethrow_exception(failure);
    } catch (const AcceptanceInDoubt& e) {
        answer = e.answer;
        return e.verdict();
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

Task<boost::json::object> once(IdempotencyStore& keys, Observer& observer, Settler& settler, std::string key,
                               std::string fingerprint, RequestContext request,
                               std::function<Task<boost::json::object>()> work) {
    KeyClaim claim = co_await keys.claim(key, fingerprint);
    if (claim.outcome == KeyClaim::Outcome::replay) co_return std::move(claim.answer);
    if (claim.outcome == KeyClaim::Outcome::mismatch)
        throw Error{
            ErrorKind::invalid_form,
            "Idempotency-Key was already used for a different request; use a new key for a new request"};

    std::exception_ptr failure;
    boost::json::object answer;
    try {
        answer = co_await work();
    } catch (...) {
        failure = std::current_exception();
    }
    boost::json::object late_answer;
    if (auto verdict = failure ? verdict_of(failure, late_answer) : nullptr) {
        // A retry waits for the key until the publish settled, then replays the 202 or does the work.
        const auto limit = settler.limit() + std::chrono::seconds{10};
        auto settle = [&keys, &observer, key, token = claim.token, verdict,
                       late_answer = std::move(late_answer), request, limit]() -> Task<void> {
            const auto outcome = co_await verdict->wait(exec::Deadline::after(limit));
            try {
                if (outcome == exec::Settlement::Outcome::succeeded)
                    co_await keys.complete(key, token, late_answer);
                else
                    co_await keys.release(key, token);
            } catch (const std::exception& e) {
                observer.rollback_failed("idempotency", "settle key " + key, "", e.what(), request);
            }
        };
        settler.spawn(std::move(settle));
        std::rethrow_exception(failure);
    }
    if (failure) {
        // Nothing of the request remains (its flow rolled back): a retry must do the work.
        try {
            co_await keys.release(key, claim.token);
        } catch (const std::exception& e) {
            observer.rollback_failed("idempotency", "release key " + key, "", e.what(), request);
        }
        std::rethrow_exception(failure);
    }
    try {
        co_await keys.complete(key, claim.token, answer);
    } catch (const std::exception& e) {
        // The work is done and stays done; the key's lease runs out and a retry would do it
        // again. Said loudly, not turned into a failure of an accepted request.
        observer.rollback_failed("idempotency", "store answer of key " + key, "", e.what(), request);
    }
    co_return answer;
}

}  // namespace cvgate::jobs
