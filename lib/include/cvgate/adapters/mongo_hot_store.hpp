#pragma once
// Hot storage (`{MONGO_DB_NAME}.jobs`) as the domain's HotStore, on the MongoDB client. Each
// client call is named after the port operation it serves: the client's observer is told of it
// under that name.

#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/jobs/ports.hpp>

namespace cvgate::adapters {

class MongoHotStore final : public jobs::HotStore {
public:
    explicit MongoHotStore(clients::mongo::Client client, std::string collection = "jobs")
        : client_{std::move(client)}, collection_{std::move(collection)} {}

    jobs::Task<void> insert(const boost::json::object& document) override;
    jobs::Task<std::optional<boost::json::object>> find(std::string_view job_id) override;
    jobs::Task<bool> remove(std::string_view job_id) override;
    jobs::Task<bool> remove_if_unchanged(std::string_view job_id, const jobs::HotVersion& version) override;
    jobs::Task<std::optional<boost::json::object>> reopen(std::string_view job_id, std::int64_t added,
                                                          std::int64_t expected_before) override;
    jobs::Task<void> undo_reopen(std::string_view job_id, std::int64_t added,
                                 std::string_view old_status) override;
    jobs::Task<bool> undo_reopen_if_applied(std::string_view job_id, std::int64_t added,
                                            std::int64_t expected_before,
                                            std::string_view old_status) override;
    jobs::Task<std::optional<boost::json::object>> remove_candidate(std::string_view job_id,
                                                                    std::string_view cv_id) override;
    jobs::Task<void> ping() override;

private:
    clients::mongo::Client client_;
    std::string collection_;
};

}  // namespace cvgate::adapters
