#pragma once
// The job endpoints of CONTRACT.md: parse and validate the request, call the domain, map the
// outcome. No business rule lives here. api/'s public face is the routes' installers (this,
// service_routes, docs_routes, readiness) and what they need; the one mapping of the domain's
// errors to HTTP (error_mapping.hpp) is internal, in lib/src/cvgate/api/.

#include <cvgate/api/access_policy.hpp>
#include <cvgate/http/form.hpp>
#include <cvgate/http/router.hpp>
#include <cvgate/jobs/idempotency.hpp>
#include <cvgate/jobs/intake.hpp>
#include <cvgate/jobs/ports.hpp>

namespace cvgate::api {

struct JobRoutesConfig {
    jobs::Limits limits;
    http::FormLimits form;
    jobs::IdempotencyStore* idempotency = nullptr;  // Idempotency-Key honoured when set
};

// `ports` and `policy` must outlive the router.
void add_job_routes(http::Router& router, jobs::Ports ports, JobRoutesConfig config,
                    const AccessPolicy& policy);

}  // namespace cvgate::api
