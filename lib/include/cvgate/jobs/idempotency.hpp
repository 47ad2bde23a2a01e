#pragma once
// Idempotency-Key on submit and add-cvs (CONTRACT.md, "Failure semantics"): a repeat with the
// same key and the same request answers the first answer again instead of doing the work
// twice; the same key with another request is 422. The keys live in a store every replica
// shares, so a retry may land on any of them.

#include <cvgate/jobs/ports.hpp>

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace cvgate::jobs {

struct KeyClaim {
    enum class Outcome {
        claimed,   // this request does the work; `token` proves it to complete()/release()
        replay,    // an earlier request with this key and this fingerprint answered `answer`
        mismatch,  // the key was used for another request
    };
    Outcome outcome = Outcome::claimed;
    std::string token;
    boost::json::object answer;
};

class IdempotencyStore {
public:
    virtual ~IdempotencyStore() = default;
    // Claims `key` for a request whose content hashes to `fingerprint`, or says what holds it.
    // While another request with the same key and fingerprint is still working, waits for it
    // (its answer is then replayed; if it failed or its owner died, this one claims the key).
    virtual Task<KeyClaim> claim(std::string_view key, std::string_view fingerprint) = 0;
    // The claimed request answered `answer` (a 202): retries get it until the key expires.
    virtual Task<void> complete(std::string_view key, std::string_view token,
                                const boost::json::object& answer) = 0;
    // The claimed request failed and left nothing: a retry does the work afresh.
    virtual Task<void> release(std::string_view key, std::string_view token) = 0;
};

// 1 to 128 characters of [A-Za-z0-9._:-], as a correlation id.
bool is_idempotency_key(std::string_view key) noexcept;

class Settler;

// Runs `work` (a flow whose answer is the 202's body) at most once per key. When the work
// fails with its acceptance in doubt (AcceptanceInDoubt, jobs/flows.hpp), the key stays
// claimed until the doubt settles (in the background, on `settler`): then it holds the late
// 202, or is released.
Task<boost::json::object> once(IdempotencyStore& keys, Observer& observer, Settler& settler, std::string key,
                               std::string fingerprint, RequestContext request,
                               std::function<Task<boost::json::object>()> work);

}  // namespace cvgate::jobs
