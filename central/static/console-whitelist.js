/* The risk whitelist (白名单): central's generic list and form (GET/POST /api/v1/risk-whitelist);
 * an entry is in force once another officer approves it (POST …/{id}/review). */
"use strict";

K.addTerms({
  risk_whitelist: ["Risk whitelist", "风险白名单"],
});
KNOWN.push({ key: "risk_whitelist", re: /^\/api\/v1\/risk-whitelist$/ });
