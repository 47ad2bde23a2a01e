#pragma once
// mongo-c-driver's process-wide state: mongoc_init before the first connection pool, and
// mongoc_cleanup once, after the last pool is gone (the driver cannot be initialised again
// after a cleanup, so the instance lives until the process exits). Each pool holds a
// reference, so cleanup also waits for pools that outlive main().

#include <memory>

namespace cvgate::clients::mongo::impl {

class Runtime {
public:
    static std::shared_ptr<const Runtime> acquire();

    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();

private:
    Runtime();
};

}  // namespace cvgate::clients::mongo::impl
