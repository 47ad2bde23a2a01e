#include <cvgate/clients/mongo/client.hpp>

#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/mongo/bson_json.hpp>
#include <cvgate/clients/mongo/impl/connection_pool.hpp>
#include <cvgate/clients/mongo/impl/errors.hpp>
#include <cvgate/clients/mongo/impl/handles.hpp>
#include <cvgate/exec/offload.hpp>

#include <mongoc/mongoc.h>

#include <atomic>
#include <type_traits>
#include <utility>

namespace cvgate::clients::mongo {

namespace json = boost::json;

struct Client::Impl {
    Impl(Options o, exec::BlockingPool::executor_type ex)
        : options{std::move(o)}, pool{options}, blocking{std::move(ex)} {}

    Options options;
    impl::ConnectionPool pool;
    exec::BlockingPool::executor_type blocking;
    std::atomic<std::size_t> pending_calls{0};

    // A place among the pending calls, held by the call until it has returned (or was dropped
    // unstarted): an abandoned call still counts while it runs.
    std::shared_ptr<void> admit(std::string_view operation) {
        const std::size_t before = pending_calls.fetch_add(1);
        std::shared_ptr<void> place{nullptr, [this](void*) { pending_calls.fetch_sub(1); }};
        if (options.max_pending_calls != 0 && before >= options.max_pending_calls)
            throw ClientError{ErrorKind::unavailable, Dependency::mongo,
                              std::string{operation} + ": " + std::to_string(before) +
                                  " calls already pending (the bound); not queued"};
        return place;
    }

    // The error for a failed driver call, with no secret in its message.
    ClientError failure(const bson_error_t& error, std::string_view operation,
                        std::string_view collection) const {
        return impl::driver_error(error, operation, collection, pool.secrets());
    }

    impl::CollectionHandle collection(mongoc_client_t* client, const std::string& name) const {
        return impl::CollectionHandle{
            mongoc_client_get_collection(client, options.database.c_str(), name.c_str())};
    }
};

namespace {

// Converts before anything is sent, so a document with no BSON form fails the call early.
Bson bson_of(const json::object& object, std::string_view operation) {
    try {
        return to_bson(object);
    } catch (const ConversionError& e) {
        throw ClientError{ErrorKind::rejected, Dependency::mongo, std::string{operation} + ": " + e.what()};
    }
}

json::object json_of(const bson_t& document, std::string_view operation) {
    try {
        return to_json(document);
    } catch (const ConversionError& e) {
        throw ClientError{ErrorKind::rejected, Dependency::mongo,
                          std::string{operation} + ": unreadable reply, " + e.what()};
    }
}

std::int64_t count_in(const bson_t& reply, const char* field) {
    bson_iter_t iter;
    return bson_iter_init_find(&iter, &reply, field) ? bson_iter_as_int64(&iter) : 0;
}

// Runs `body(impl, client)` on the blocking pool with a client popped from the connection
// pool for the duration. The callable holds the Impl by shared_ptr and its documents by
// value: if the deadline passes, the awaiting coroutine leaves, and the call finishes alone.
// Every callable here is named first: see the GCC 12 note in exec/offload.hpp.
template <typename Impl, typename Body>
boost::asio::awaitable<std::invoke_result_t<Body&, const Impl&, mongoc_client_t*>> attempt(
    std::shared_ptr<Impl> impl, std::string_view operation, Deadline deadline, Body body) {
    const Deadline until = deadline.or_after(impl->options.call_timeout);
    auto executor = impl->blocking;
    auto place = impl->admit(operation);
    auto call = [self = std::move(impl), body = std::move(body), place = std::move(place)]() mutable {
        const impl::PooledClient client = self->pool.acquire();
        return body(*self, client.get());
    };
    try {
        co_return co_await exec::offload(executor, std::move(call), until);
    } catch (const ClientError& e) {
        // The driver gave up waiting for the reply (socketTimeoutMS, or the connection failed
        // while it read the reply): the command may have been sent and may still be applied.
        // The call has returned, so it is settled.
        const bool reply_lost = e.kind() == ErrorKind::timeout ||
                                e.message().find("Failed to read") != std::string::npos ||
                                e.message().find("socket error or timeout") != std::string::npos;
        if (!reply_lost || e.settlement()) throw;
        auto returned = std::make_shared<exec::Settlement>();
        returned->resolve(exec::Settlement::Outcome::failed);
        throw ClientError::in_doubt(Dependency::mongo, e.message(), std::move(returned));
    } catch (const exec::DeadlineExceeded& e) {
        if (e.settlement())
            throw ClientError::in_doubt(Dependency::mongo,
                                        std::string{operation} + ": no answer within the deadline",
                                        e.settlement());
        throw ClientError{ErrorKind::timeout, Dependency::mongo,
                          std::string{operation} + ": not started within the deadline (every thread busy)"};
    }
}

// Every call passes here: attempted, then told to the observer under the caller's name for it.
template <typename Impl, typename Body>
boost::asio::awaitable<std::invoke_result_t<Body&, const Impl&, mongoc_client_t*>> run(
    std::shared_ptr<Impl> impl, std::string_view operation, std::string_view name, Deadline deadline,
    Body body) {
    const CallObserver& observer = impl->options.observer;  // `impl` keeps it alive meanwhile
    auto call = attempt<Impl>(impl, operation, deadline, std::move(body));
    co_return co_await observed(observer, operation, name, std::move(call));
}

}  // namespace

Client::Client(Options options, exec::BlockingPool::executor_type blocking)
    : impl_{std::make_shared<Impl>(std::move(options), std::move(blocking))} {}

const std::string& Client::database() const noexcept { return impl_->options.database; }

boost::asio::awaitable<void> Client::insert_one(std::string collection, json::object document,
                                                Deadline deadline, std::string_view name) {
    auto call = [collection = std::move(collection), document = bson_of(document, "insert_one")](
                    const Impl& self, mongoc_client_t* client) {
        const auto handle = self.collection(client, collection);
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_collection_insert_one(handle.get(), document.get(), nullptr, reply.get(), &error))
            throw self.failure(error, "insert_one", collection);
    };
    co_await run<Impl>(impl_, "insert_one", name, deadline, std::move(call));
}

boost::asio::awaitable<std::optional<json::object>> Client::find_one(std::string collection,
                                                                     json::object filter, Deadline deadline,
                                                                     std::string_view name) {
    auto call = [collection = std::move(collection), filter = bson_of(filter, "find_one")](
                    const Impl& self, mongoc_client_t* client) -> std::optional<json::object> {
        const auto handle = self.collection(client, collection);
        Bson options;
        BSON_APPEND_INT64(options.get(), "limit", 1);
        BSON_APPEND_BOOL(options.get(), "singleBatch", true);
        const impl::CursorHandle cursor{
            mongoc_collection_find_with_opts(handle.get(), filter.get(), options.get(), nullptr)};
        const bson_t* found = nullptr;
        if (mongoc_cursor_next(cursor.get(), &found)) return json_of(*found, "find_one");
        bson_error_t error;
        if (mongoc_cursor_error(cursor.get(), &error)) throw self.failure(error, "find_one", collection);
        return std::nullopt;
    };
    co_return co_await run<Impl>(impl_, "find_one", name, deadline, std::move(call));
}

boost::asio::awaitable<UpdateResult> Client::update_one(std::string collection, json::object filter,
                                                        json::object update, Deadline deadline,
                                                        std::string_view name) {
    auto call = [collection = std::move(collection), filter = bson_of(filter, "update_one"),
                 update = bson_of(update, "update_one")](const Impl& self, mongoc_client_t* client) {
        const auto handle = self.collection(client, collection);
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_collection_update_one(handle.get(), filter.get(), update.get(), nullptr, reply.get(),
                                          &error))
            throw self.failure(error, "update_one", collection);
        return UpdateResult{count_in(*reply, "matchedCount"), count_in(*reply, "modifiedCount")};
    };
    co_return co_await run<Impl>(impl_, "update_one", name, deadline, std::move(call));
}

boost::asio::awaitable<std::optional<json::object>> Client::find_one_and_update(
    std::string collection, json::object filter, json::object update, ReturnDocument which, Deadline deadline,
    std::string_view name) {
    auto call = [collection = std::move(collection), filter = bson_of(filter, "find_one_and_update"),
                 update = bson_of(update, "find_one_and_update"),
                 which](const Impl& self, mongoc_client_t* client) -> std::optional<json::object> {
        const auto handle = self.collection(client, collection);
        const impl::FindAndModifyOptsHandle options{mongoc_find_and_modify_opts_new()};
        mongoc_find_and_modify_opts_set_update(options.get(), update.get());
        mongoc_find_and_modify_opts_set_flags(options.get(), which == ReturnDocument::after
                                                                 ? MONGOC_FIND_AND_MODIFY_RETURN_NEW
                                                                 : MONGOC_FIND_AND_MODIFY_NONE);
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_collection_find_and_modify_with_opts(handle.get(), filter.get(), options.get(),
                                                         reply.get(), &error))
            throw self.failure(error, "find_one_and_update", collection);
        bson_iter_t value;
        if (!bson_iter_init_find(&value, &*reply, "value") || !BSON_ITER_HOLDS_DOCUMENT(&value))
            return std::nullopt;
        std::uint32_t length = 0;
        const std::uint8_t* data = nullptr;
        bson_iter_document(&value, &length, &data);
        bson_t document;
        if (!bson_init_static(&document, data, length))
            throw ClientError{ErrorKind::rejected, Dependency::mongo,
                              "find_one_and_update: unreadable reply"};
        return json_of(document, "find_one_and_update");
    };
    co_return co_await run<Impl>(impl_, "find_one_and_update", name, deadline, std::move(call));
}

boost::asio::awaitable<std::int64_t> Client::delete_one(std::string collection, json::object filter,
                                                        Deadline deadline, std::string_view name) {
    auto call = [collection = std::move(collection), filter = bson_of(filter, "delete_one")](
                    const Impl& self, mongoc_client_t* client) {
        const auto handle = self.collection(client, collection);
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_collection_delete_one(handle.get(), filter.get(), nullptr, reply.get(), &error))
            throw self.failure(error, "delete_one", collection);
        return count_in(*reply, "deletedCount");
    };
    co_return co_await run<Impl>(impl_, "delete_one", name, deadline, std::move(call));
}

boost::asio::awaitable<json::object> Client::run_command(json::object command, Deadline deadline) {
    auto call = [command = bson_of(command, "run_command")](const Impl& self, mongoc_client_t* client) {
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_client_command_simple(client, self.options.database.c_str(), command.get(), nullptr,
                                          reply.get(), &error))
            throw self.failure(error, "run_command", "");
        return json_of(*reply, "run_command");
    };
    co_return co_await run<Impl>(impl_, "run_command", {}, deadline, std::move(call));
}

boost::asio::awaitable<void> Client::ping(Deadline deadline, std::string_view name) {
    auto call = [](const Impl& self, mongoc_client_t* client) {
        Bson command;
        BSON_APPEND_INT32(command.get(), "ping", 1);
        impl::Reply reply;
        bson_error_t error;
        if (!mongoc_client_command_simple(client, "admin", command.get(), nullptr, reply.get(), &error))
            throw self.failure(error, "ping", "");
    };
    co_await run<Impl>(impl_, "ping", name, deadline, std::move(call));
}

}  // namespace cvgate::clients::mongo
