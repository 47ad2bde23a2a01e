#pragma once
// Which waiter each publisher confirm belongs to, on one channel in confirm mode: delivery
// tag -> unconfirmed publish. Pure bookkeeping, no I/O.
//
// The broker numbers a channel's publishes 1, 2, 3...; basic.ack / basic.nack name one tag,
// or with `multiple` every tag up to it. basic.return names no tag: it comes before the ack
// of the message it returns, so it marks the oldest unconfirmed publish with the same
// exchange and routing key (and the same message_id, when one matches), whose ack then
// counts as a rejection.

#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cvgate::clients::amqp::impl {

template <typename Waiter>
class ConfirmTracker {
public:
    enum class Outcome { confirmed, returned, nacked };
    struct Settled {
        Waiter waiter;
        Outcome outcome;
        std::string reason;  // for `returned`: the broker's reply code and text
    };

    void add(std::uint64_t tag, Waiter waiter, std::string exchange, std::string routing_key,
             std::string message_id) {
        pending_.insert_or_assign(tag, Entry{std::move(waiter),
                                             std::move(exchange),
                                             std::move(routing_key),
                                             std::move(message_id),
                                             false,
                                             {}});
    }

    // Returns false when no unconfirmed publish matches (its waiter already gave up).
    bool mark_returned(std::string_view exchange, std::string_view routing_key, std::string_view message_id,
                       std::string reason) {
        Entry* fallback = nullptr;
        for (auto& [tag, entry] : pending_) {
            if (entry.returned || entry.exchange != exchange || entry.routing_key != routing_key) continue;
            if (message_id.empty() || entry.message_id == message_id) {
                return mark(entry, std::move(reason));
            }
            if (!fallback) fallback = &entry;
        }
        return fallback && mark(*fallback, std::move(reason));
    }

    // Tags the tracker does not know (their waiters gave up) are ignored.
    void ack(std::uint64_t tag, bool multiple, std::vector<Settled>& out) {
        settle(tag, multiple, false, out);
    }
    void nack(std::uint64_t tag, bool multiple, std::vector<Settled>& out) {
        settle(tag, multiple, true, out);
    }

    // Everything unconfirmed, oldest first: the channel is gone and will confirm nothing more.
    std::vector<Waiter> take_all() {
        std::vector<Waiter> all;
        all.reserve(pending_.size());
        for (auto& [tag, entry] : pending_) all.push_back(std::move(entry.waiter));
        pending_.clear();
        return all;
    }

    template <typename Predicate>
    void forget_if(Predicate predicate) {
        std::erase_if(pending_, [&](const auto& item) { return predicate(item.second.waiter); });
    }

    std::size_t size() const noexcept { return pending_.size(); }
    bool empty() const noexcept { return pending_.empty(); }

private:
    struct Entry {
        Waiter waiter;
        std::string exchange;
        std::string routing_key;
        std::string message_id;
        bool returned;
        std::string reason;
    };

    static bool mark(Entry& entry, std::string reason) {
        entry.returned = true;
        entry.reason = std::move(reason);
        return true;
    }

    void settle(std::uint64_t tag, bool multiple, bool nacked, std::vector<Settled>& out) {
        auto first = pending_.begin();
        auto last = first;
        if (multiple) {
            // tag 0 with `multiple`: everything so far
            last = tag == 0 ? pending_.end() : pending_.upper_bound(tag);
        } else {
            first = pending_.find(tag);
            if (first == pending_.end()) return;
            last = std::next(first);
        }
        for (auto it = first; it != last; ++it) {
            auto& entry = it->second;
            const auto outcome = nacked           ? Outcome::nacked
                                 : entry.returned ? Outcome::returned
                                                  : Outcome::confirmed;
            out.push_back(Settled{std::move(entry.waiter), outcome, std::move(entry.reason)});
        }
        pending_.erase(first, last);
    }

    std::map<std::uint64_t, Entry> pending_;
};

}  // namespace cvgate::clients::amqp::impl
