#pragma once
// Method + path-template routing (`/jobs/{job_id}/status`): 404 for an unknown path, 405
// with the allowed methods for a known path. Matching allocates nothing on success.

#include <cvgate/http/request.hpp>
#include <cvgate/http/response.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Router {
public:
    enum class Outcome { found, not_found, method_not_allowed };

    struct Match {
        Outcome outcome = Outcome::not_found;
        const Handler* handler = nullptr;
        std::string_view pattern;  // the template that matched (empty when not found)
        std::string allow;         // with method_not_allowed: "GET, HEAD"
    };

    // Registers `handler` for `method` on `pattern`; a GET route answers HEAD too.
    // Throws std::invalid_argument for a malformed pattern or a duplicate route.
    void add(Verb method, std::string_view pattern, Handler handler);

    // Every registered template, once each, in registration order.
    std::vector<std::string> patterns() const;
    // The methods registered on `pattern`, in registration order (HEAD not listed: a GET
    // route answers it).
    std::vector<Verb> methods(std::string_view pattern) const;

    // Matches a path (no query string); fills `params` with views into `path`.
    Match match(Verb method, std::string_view path, RouteParams& params) const;

private:
    struct Segment {
        std::string text;  // literal text, or the parameter's name
        bool is_param = false;
    };
    struct Route {
        Verb method;
        std::string pattern;
        std::vector<Segment> segments;
        Handler handler;
    };

    static bool matches(const Route& route, std::string_view path, RouteParams& params) noexcept;

    std::vector<Route> routes_;
};

}  // namespace cvgate::http
