#pragma once
// The driver's thread-safe pool of connections for one URL, configured from Options (the
// URL's own settings win), and the secrets that error messages must never show.

#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/clients/mongo/impl/handles.hpp>
#include <cvgate/clients/mongo/impl/runtime.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cvgate::clients::mongo::impl {

class ConnectionPool {
public:
    // Throws ClientError (rejected) for a malformed URL or option.
    explicit ConnectionPool(const Options& options);

    // Blocks until a connection is free: call it on the blocking pool only.
    PooledClient acquire() const { return PooledClient{pool_.get()}; }

    // The URL, user and password, as they appear in the URL.
    const std::vector<std::string>& secrets() const noexcept { return secrets_; }

private:
    std::shared_ptr<const Runtime> runtime_;  // first: the driver outlives the handles below
    std::vector<std::string> secrets_;
    UriHandle uri_;
    ClientPoolHandle pool_;
};

}  // namespace cvgate::clients::mongo::impl
