#include <cvgate/exec/blocking_pool.hpp>

#include <algorithm>

namespace cvgate::exec {

BlockingPool::BlockingPool(std::size_t threads)
    : threads_{std::max<std::size_t>(threads, 1)}, pool_{threads_} {}

BlockingPool::~BlockingPool() { join(); }

void BlockingPool::join() { pool_.join(); }

}  // namespace cvgate::exec
