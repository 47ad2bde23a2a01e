#include <cvgate/http/response.hpp>

#include <cvgate/text/json_number.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace cvgate::http {

Response json_response(Status status, const boost::json::value& body) {
    Response res{status, 11};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.body() = text::to_json(body);
    return res;
}

Response error_response(Status status, std::string_view detail) {
    return json_response(status, boost::json::object{{"detail", boost::json::string{detail}}});
}

Response error_response(Status status, const boost::json::value& detail) {
    return json_response(status, boost::json::object{{"detail", detail}});
}

}  // namespace cvgate::http
