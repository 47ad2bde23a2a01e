// The bookkeeping that maps a channel's publisher confirms back to its publishes: pure, no
// broker needed.

#include <cvgate/clients/amqp/impl/confirm_tracker.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace amqp = cvgate::clients::amqp;

TEST_CASE("an ack with multiple confirms every unconfirmed tag up to it, and only those") {
    amqp::impl::ConfirmTracker<int> tracker;
    for (int tag = 1; tag <= 5; ++tag) tracker.add(tag, tag * 10, "", "q", "");
    std::vector<amqp::impl::ConfirmTracker<int>::Settled> done;

    tracker.ack(2, false, done);
    REQUIRE(done.size() == 1);
    CHECK(done[0].waiter == 20);

    done.clear();
    tracker.ack(4, true, done);
    REQUIRE(done.size() == 3);  // 1, 3 and 4: 2 was already confirmed, 5 is above
    CHECK(done[0].waiter == 10);
    CHECK(done[1].waiter == 30);
    CHECK(done[2].waiter == 40);
    CHECK(tracker.size() == 1);

    done.clear();
    tracker.ack(4, true, done);  // a confirm for nothing unconfirmed changes nothing
    CHECK(done.empty());
    CHECK(tracker.size() == 1);
}

TEST_CASE("an ack with multiple confirms every unconfirmed tag up to it: every entry is confirmed") {
    amqp::impl::ConfirmTracker<int> tracker;
    for (int tag = 1; tag <= 3; ++tag) tracker.add(tag, tag, "", "q", "");
    std::vector<amqp::impl::ConfirmTracker<int>::Settled> done;
    tracker.ack(3, true, done);
    REQUIRE(done.size() == 3);
    for (auto& s : done) CHECK(s.outcome == amqp::impl::ConfirmTracker<int>::Outcome::confirmed);
    CHECK(tracker.empty());
}

TEST_CASE("a return marks the publish it belongs to, and that publish's ack counts as unroutable") {
    using Tracker = amqp::impl::ConfirmTracker<int>;
    Tracker tracker;
    tracker.add(1, 1, "", "routed", "a");
    tracker.add(2, 2, "", "nowhere", "b");
    tracker.add(3, 3, "", "nowhere", "c");
    CHECK(tracker.mark_returned("", "nowhere", "c", "no route for c"));
    CHECK_FALSE(tracker.mark_returned("", "elsewhere", "", "no such publish"));

    std::vector<Tracker::Settled> done;
    tracker.ack(3, true, done);
    REQUIRE(done.size() == 3);
    CHECK(done[0].outcome == Tracker::Outcome::confirmed);
    CHECK(done[1].outcome == Tracker::Outcome::confirmed);  // same key, but another message_id
    CHECK(done[2].outcome == Tracker::Outcome::returned);
    CHECK(done[2].reason == "no route for c");
}

TEST_CASE("a nack rejects the publishes it names") {
    using Tracker = amqp::impl::ConfirmTracker<int>;
    Tracker tracker;
    tracker.add(7, 7, "", "q", "");
    tracker.add(8, 8, "", "q", "");
    std::vector<Tracker::Settled> done;
    tracker.nack(8, false, done);
    REQUIRE(done.size() == 1);
    CHECK(done[0].waiter == 8);
    CHECK(done[0].outcome == Tracker::Outcome::nacked);
    CHECK(tracker.size() == 1);
}
