#include <cvgate/jobs/idempotency.hpp>

#include <cvgate/jobs/error.hpp>

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

Task<boost::json::object> once(IdempotencyStore& keys, Observer& observer, std::string key,
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
