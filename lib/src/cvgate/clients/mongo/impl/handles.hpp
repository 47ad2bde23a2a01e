#pragma once
// RAII owners of mongo-c-driver handles: each is destroyed (or, for a pooled client, pushed
// back) exactly once, on every path out of the scope that took it.

#include <mongoc/mongoc.h>

#include <memory>

namespace cvgate::clients::mongo::impl {

template <auto Destroy>
struct Destroyer {
    template <typename T>
    void operator()(T* handle) const noexcept {
        Destroy(handle);
    }
};

using UriHandle = std::unique_ptr<mongoc_uri_t, Destroyer<&mongoc_uri_destroy>>;
using ClientPoolHandle = std::unique_ptr<mongoc_client_pool_t, Destroyer<&mongoc_client_pool_destroy>>;
using CollectionHandle = std::unique_ptr<mongoc_collection_t, Destroyer<&mongoc_collection_destroy>>;
using CursorHandle = std::unique_ptr<mongoc_cursor_t, Destroyer<&mongoc_cursor_destroy>>;
using FindAndModifyOptsHandle =
    std::unique_ptr<mongoc_find_and_modify_opts_t, Destroyer<&mongoc_find_and_modify_opts_destroy>>;

// A client taken from a pool for one operation; back into the pool when this goes.
class PooledClient {
public:
    explicit PooledClient(mongoc_client_pool_t* pool) : pool_{pool}, client_{mongoc_client_pool_pop(pool)} {}
    PooledClient(const PooledClient&) = delete;
    PooledClient& operator=(const PooledClient&) = delete;
    ~PooledClient() {
        if (client_) mongoc_client_pool_push(pool_, client_);
    }

    mongoc_client_t* get() const noexcept { return client_; }

private:
    mongoc_client_pool_t* pool_;
    mongoc_client_t* client_;
};

// A bson_t on the stack for a reply the driver fills in: initialised empty here, so that it
// can always be destroyed, whether or not the driver wrote to it.
class Reply {
public:
    Reply() noexcept { bson_init(&doc_); }
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    ~Reply() { bson_destroy(&doc_); }

    bson_t* get() noexcept { return &doc_; }
    const bson_t& operator*() const noexcept { return doc_; }

private:
    bson_t doc_;
};

}  // namespace cvgate::clients::mongo::impl
