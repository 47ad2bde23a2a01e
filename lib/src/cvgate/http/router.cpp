#include <cvgate/http/router.hpp>

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <stdexcept>

namespace cvgate::http {
namespace {

// Calls `fn(segment)` for each `/`-separated segment of `path` (which starts with '/').
template <typename Fn>
bool for_each_segment(std::string_view path, Fn&& fn) {
    if (path.empty() || path.front() != '/') return false;
    path.remove_prefix(1);
    for (;;) {
        auto slash = path.find('/');
        if (!fn(path.substr(0, slash))) return false;
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

}  // namespace

void Router::add(Verb method, std::string_view pattern, Handler handler) {
    Route route{method, std::string{pattern}, {}, std::move(handler)};
    const bool ok = for_each_segment(pattern, [&](std::string_view seg) {
        if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
            route.segments.push_back({std::string{seg.substr(1, seg.size() - 2)}, true});
        } else {
            if (seg.find_first_of("{}") != std::string_view::npos) return false;
            route.segments.push_back({std::string{seg}, false});
        }
        return true;
    });
    std::size_t params = 0;
    for (const auto& s : route.segments) params += s.is_param ? 1 : 0;
    if (!ok || params > RouteParams::capacity)
        throw std::invalid_argument{"bad route pattern: " + std::string{pattern}};
    for (const auto& r : routes_)
        if (r.method == method && r.pattern == route.pattern)
            throw std::invalid_argument{"duplicate route: " + route.pattern};
    routes_.push_back(std::move(route));
}

std::vector<std::string> Router::patterns() const {
    std::vector<std::string> out;
    for (const auto& r : routes_)
        if (std::find(out.begin(), out.end(), r.pattern) == out.end()) out.push_back(r.pattern);
    return out;
}

std::vector<Verb> Router::methods(std::string_view pattern) const {
    std::vector<Verb> out;
    for (const auto& r : routes_)
        if (r.pattern == pattern) out.push_back(r.method);
    return out;
}

bool Router::matches(const Route& route, std::string_view path, RouteParams& params) noexcept {
    params.clear();
    std::size_t i = 0;
    const bool ok = for_each_segment(path, [&](std::string_view seg) {
        if (i == route.segments.size()) return false;
        const Segment& expected = route.segments[i++];
        if (expected.is_param) return !seg.empty() && params.add(expected.text, seg);
        return seg == expected.text;
    });
    return ok && i == route.segments.size();
}

Router::Match Router::match(Verb method, std::string_view path, RouteParams& params) const {
    const Verb wanted = method == Verb::head ? Verb::get : method;
    Match result;
    for (const auto& route : routes_) {
        if (!matches(route, path, params)) continue;
        if (route.method == wanted) {
            result.outcome = Outcome::found;
            result.handler = &route.handler;
            result.pattern = route.pattern;
            return result;
        }
        result.outcome = Outcome::method_not_allowed;
        result.pattern = route.pattern;
    }
    if (result.outcome == Outcome::method_not_allowed) {
        for (const auto& route : routes_) {
            RouteParams scratch;
            if (!matches(route, path, scratch)) continue;
            if (!result.allow.empty()) result.allow += ", ";
            result.allow += boost::beast::http::to_string(route.method);
            if (route.method == Verb::get) result.allow += ", HEAD";
        }
    }
    params.clear();
    return result;
}

}  // namespace cvgate::http
