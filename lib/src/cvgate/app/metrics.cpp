#include <cvgate/app/metrics.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cvgate::app {
namespace {

void append_double(std::string& out, double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.append(buf, end);
}

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

// Label values are ours (route templates, fixed names) but escape them all the same.
std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::pair<std::string_view, std::string_view> split_key(std::string_view key) {
    const auto bar = key.find('|');
    return {key.substr(0, bar), key.substr(bar + 1)};
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void render_counters(std::string& out, std::string_view name, std::string_view help,
                     std::string_view first_label, std::string_view second_label,
                     const std::map<std::string, std::uint64_t, std::less<>>& counters) {
    header(out, name, "counter", help);
    for (const auto& [key, value] : counters) {
        const auto [a, b] = split_key(key);
        out += name;
        out += '{';
        out += first_label;
        out += "=\"" + label_value(a) + "\",";
        out += second_label;
        out += "=\"" + label_value(b) + "\"} ";
        append_uint(out, value);
        out += '\n';
    }
}

}  // namespace

void Histogram::observe(double seconds) noexcept {
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::add_to(Counts& total) const noexcept {
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        total.buckets[i] += buckets_[i].load(std::memory_order_relaxed);
    total.count += count_.load(std::memory_order_relaxed);
    total.sum_micros += sum_micros_.load(std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
    Counts counts;
    add_to(counts);
    render(counts, out, name, labels);
}

void Histogram::render(const Counts& counts, std::string& out, std::string_view name,
                       std::string_view labels) {
    std::uint64_t cumulative = 0;
    const std::string sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += counts.buckets[i];
        out += name;
        out += "_bucket{";
        out += labels;
        out += sep + "le=\"";
        if (i < bounds.size())
            append_double(out, bounds[i]);
        else
            out += "+Inf";
        out += "\"} ";
        append_uint(out, cumulative);
        out += '\n';
    }
    out += name;
    out += "_sum{";
    out += labels;
    out += "} ";
    append_double(out, static_cast<double>(counts.sum_micros) / 1e6);
    out += '\n';
    out += name;
    out += "_count{";
    out += labels;
    out += "} ";
    append_uint(out, counts.count);
    out += '\n';
}

Metrics::Metrics() { routes_.push_back(std::make_unique<RouteSlot>()); }

void Metrics::set_routes(const std::vector<std::string>& routes) {
    routes_.clear();
    for (const auto& r : routes) {
        bool seen = false;
        for (const auto& s : routes_) seen = seen || s->route == r;
        if (seen) continue;
        routes_.push_back(std::make_unique<RouteSlot>());
        routes_.back()->route = r;
    }
    routes_.push_back(std::make_unique<RouteSlot>());  // unmatched: route=""
}

Metrics::RouteSlot& Metrics::slot_for(std::string_view route) {
    for (std::size_t i = 0; i + 1 < routes_.size(); ++i)
        if (routes_[i]->route == route) return *routes_[i];
    return *routes_.back();
}

void Metrics::observe_request(std::string_view route, std::string_view method, unsigned status,
                              double seconds, std::uint64_t bytes_in) {
    // Each thread keeps to one shard, dealt round-robin at its first request.
    static std::atomic<std::size_t> next_shard{0};
    thread_local const std::size_t shard = next_shard.fetch_add(1, std::memory_order_relaxed) % route_shards;
    RouteShard& own = slot_for(route).shards[shard];
    own.latency.observe(seconds);
    if (bytes_in > 0) upload_bytes_.fetch_add(bytes_in, std::memory_order_relaxed);
    // "GET|200", built by hand: snprintf's format parsing was a visible cost per request.
    char key[32];
    const std::size_t m = std::min(method.size(), sizeof key - 12);
    std::memcpy(key, method.data(), m);
    key[m] = '|';
    const auto [end, ec] = std::to_chars(key + m + 1, key + sizeof key, status);
    const std::string_view k{key, static_cast<std::size_t>(end - key)};
    std::lock_guard lock{own.mutex};
    for (auto& [name, count] : own.by_method_status) {
        if (name == k) {
            ++count;
            return;
        }
    }
    own.by_method_status.emplace_back(std::string{k}, 1);
}

void Metrics::bump(std::mutex& m, LabeledCounters& counters, std::string key) {
    std::lock_guard lock{m};
    auto it = counters.find(key);
    if (it == counters.end())
        counters.emplace(std::move(key), 1);
    else
        ++it->second;
}

void Metrics::observe_dependency(std::string_view dependency, std::string_view operation, double seconds,
                                 bool ok) {
    std::string key{dependency};
    key += '|';
    key += operation;
    std::lock_guard lock{mutex_};
    auto it = dependency_latency_.find(key);
    if (it == dependency_latency_.end())
        it = dependency_latency_.emplace(key, std::make_unique<Histogram>()).first;
    it->second->observe(seconds);
    if (!ok) ++dependency_errors_[key];
}

void Metrics::count_submission(std::string_view flow, std::string_view outcome) {
    bump(mutex_, submissions_, std::string{flow} + "|" + std::string{outcome});
}

void Metrics::count_rollback(std::string_view flow, std::string_view stage) {
    bump(mutex_, rollbacks_, std::string{flow} + "|" + std::string{stage});
}

void Metrics::count_rollback_failure(std::string_view flow, std::string_view step) {
    bump(mutex_, rollback_failures_, std::string{flow} + "|" + std::string{step});
}

void Metrics::count_in_doubt(std::string_view flow, std::string_view outcome) {
    bump(mutex_, in_doubt_, std::string{flow} + "|" + std::string{outcome});
}

void Metrics::add_gauge(std::string name, std::string help, std::string labels,
                        std::function<double()> read) {
    std::lock_guard lock{mutex_};
    gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(read)});
}

std::string Metrics::render() const {
    std::string out;
    out.reserve(16 * 1024);

    header(out, "cvgate_http_requests_total", "counter",
           "HTTP requests by route template, method and status.");
    for (const auto& slot : routes_) {
        std::map<std::string, std::uint64_t, std::less<>> by_method_status;
        for (const auto& shard : slot->shards) {
            std::lock_guard lock{shard.mutex};
            for (const auto& [key, count] : shard.by_method_status) by_method_status[key] += count;
        }
        for (const auto& [key, count] : by_method_status) {
            const auto [method, status] = split_key(key);
            out += "cvgate_http_requests_total{route=\"" + label_value(slot->route) + "\",method=\"" +
                   std::string{method} + "\",status=\"" + std::string{status} + "\"} ";
            append_uint(out, count);
            out += '\n';
        }
    }
    header(out, "cvgate_http_request_duration_seconds", "histogram",
           "HTTP request latency by route template.");
    for (const auto& slot : routes_) {
        Histogram::Counts latency;
        for (const auto& shard : slot->shards) shard.latency.add_to(latency);
        Histogram::render(latency, out, "cvgate_http_request_duration_seconds",
                          "route=\"" + label_value(slot->route) + "\"");
    }
    header(out, "cvgate_upload_bytes_total", "counter", "Request body bytes received.");
    out += "cvgate_upload_bytes_total ";
    append_uint(out, upload_bytes_.load(std::memory_order_relaxed));
    out += '\n';

    std::lock_guard lock{mutex_};
    header(out, "cvgate_dependency_call_duration_seconds", "histogram",
           "Latency of calls to MongoDB, PostgreSQL, RabbitMQ and the upload volume.");
    for (const auto& [key, histogram] : dependency_latency_) {
        const auto [dep, op] = split_key(key);
        histogram->render(out, "cvgate_dependency_call_duration_seconds",
                          "dependency=\"" + label_value(dep) + "\",operation=\"" + label_value(op) + "\"");
    }
    render_counters(out, "cvgate_dependency_errors_total", "Failed dependency calls.", "dependency",
                    "operation", dependency_errors_);
    render_counters(out, "cvgate_submissions_total", "Upload requests (submit, add_cvs) by outcome.", "flow",
                    "outcome", submissions_);
    render_counters(out, "cvgate_rollbacks_total", "Rollbacks by flow and the stage that failed.", "flow",
                    "stage", rollbacks_);
    render_counters(out, "cvgate_rollback_failures_total", "Rollback steps that themselves failed.", "flow",
                    "step", rollback_failures_);
    render_counters(out, "cvgate_in_doubt_total",
                    "Calls that failed at their deadline after they started, by what became of the job once "
                    "they settled.",
                    "flow", "outcome", in_doubt_);

    std::string last;
    for (const auto& g : gauges_) {
        if (g.name != last) header(out, g.name, "gauge", g.help);
        last = g.name;
        out += g.name;
        if (!g.labels.empty()) out += "{" + g.labels + "}";
        out += ' ';
        append_double(out, g.read());
        out += '\n';
    }
    return out;
}

}  // namespace cvgate::app
