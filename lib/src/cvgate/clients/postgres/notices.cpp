#include <cvgate/clients/postgres/notices.hpp>

#include <memory>
#include <mutex>

namespace cvgate::clients::postgres {
namespace {

struct SinkSlot {
    std::mutex mutex;
    std::shared_ptr<const NoticeSink> sink;
};

SinkSlot& sink_slot() {
    static SinkSlot slot;
    return slot;
}

}  // namespace

void set_notice_sink(NoticeSink sink) {
    auto shared = std::make_shared<const NoticeSink>(std::move(sink));
    SinkSlot& slot = sink_slot();
    std::lock_guard lock{slot.mutex};
    slot.sink = std::move(shared);
}

namespace impl {

// Called by libpq on whichever thread runs the connection; no exception may leave it.
void forward_notice(void*, const char* message) noexcept {
    try {
        std::shared_ptr<const NoticeSink> sink;
        {
            SinkSlot& slot = sink_slot();
            std::lock_guard lock{slot.mutex};
            sink = slot.sink;
        }
        if (!sink || !*sink || !message) return;
        std::string_view text{message};
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
        (*sink)(text);
    } catch (...) {
        // A failing sink loses one notice; libpq must never see an exception.
    }
}

}  // namespace impl
}  // namespace cvgate::clients::postgres
