/* The risk whitelist (白名单): central's generic list and form (GET/POST /api/v1/risk-whitelist);
 * an entry is in force once another officer approves it (POST …/{id}/review). Also the labels of
 * the control-order types (布控类型) in the control-order form. */
"use strict";

KNOWN.push({ key: "risk_whitelist", re: /^\/api\/v1\/risk-whitelist$/ });
