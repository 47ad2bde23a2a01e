// Serves one route with cvgate's HTTP toolkit on a free port, then shuts down: proof that the
// installed headers, library and CMake package work for another project.
#include <cvgate/http/router.hpp>
#include <cvgate/http/server.hpp>
#include <cvgate/version.hpp>

#include <cstdio>

int main() {
    cvgate::http::Router router;
    router.add(cvgate::http::Verb::get, "/hello",
               [](cvgate::http::Request&) -> boost::asio::awaitable<cvgate::http::Response> {
                   co_return cvgate::http::error_response(cvgate::http::Status::ok, "hello");
               });
    cvgate::http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    cvgate::http::Server server{options, router};
    server.start();
    std::printf("cvgate %s consumer listening on %u\n", cvgate::version,
                static_cast<unsigned>(server.port()));
    server.shutdown(std::chrono::milliseconds{0});
    return server.port() != 0 ? 0 : 1;
}
