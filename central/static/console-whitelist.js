/* The risk whitelist (白名单): central's generic list and form (GET/POST /api/v1/risk-whitelist);
 * an entry is in force once another officer approves it (POST …/{id}/review). Also the labels of
 * the control-order types (布控类型) in the control-order form. */
"use strict";

K.addTerms({
  risk_whitelist: ["Risk whitelist", "风险白名单"],
  order_type: ["Control type", "布控类型"], f_order_type: ["Control type", "布控类型"], general: ["General", "一般布控"],
  key_person: ["Key person (a driver)", "重点人员（驾驶员）"], risk_vehicle: ["Risk vehicle", "风险车辆"],
  random_rate: ["Share stopped, random (0–1)", "随机布控比例（0–1）"], f_random_rate: ["Share stopped, random (0–1)", "随机布控比例（0–1）"],
});
KNOWN.push({ key: "risk_whitelist", re: /^\/api\/v1\/risk-whitelist$/ });

// The kinds' names in the review list come from central (GET /api/v1/reviews).
K.addTerms({ wl_target: ["Target", "对象"], wl_value: ["Plate or carrier", "车牌/企业代码"],
  wl_reason: ["Reason", "理由"], wl_valid_until: ["Valid until", "有效期至"] });
