# Every dependency comes from a Debian 12 package and is found through its CMake package.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(PostgreSQL REQUIRED)
find_package(mongoc-1.0 1.23 REQUIRED)
find_package(rabbitmq-c REQUIRED)
