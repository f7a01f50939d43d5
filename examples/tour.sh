#!/usr/bin/env bash
# A self-contained offline session in a temporary workspace (Chinese example data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet --bin fieldcrm
bin="${CARGO_TARGET_DIR:-target}/debug/fieldcrm"
export FIELDCRM_HOME="$(mktemp -d)/ws"
trap 'rm -rf "$(dirname "$FIELDCRM_HOME")"' EXIT
# A fixed "now" (noon in Shanghai) so the tour's times are in the past at any hour, on any
# machine clock and in any display time zone; the output is the same on every run.
today=2026-11-30
export FIELDCRM_NOW="${today}T12:00:00+08:00"
run() { echo "\$ fieldcrm $*"; "$bin" "$@"; echo; }
id_of() { "$bin" "$@" | awk '{print $NF}'; }

run init --user 王经理 --role admin --team 华东一组 --company 示例科技
run user add 李渠道 --role channel-manager --region 华东
run catalog add P-100 --name 工业传感器 --line sensors --list-price 1000 --floor-price 800
run customer add 华东精密机械有限公司 --class 重要 --industry 制造业 --region 华东 --address "上海市浦东新区张江路 88 号" --annual-value 2,000,000
run contact add 华东精密机械有限公司 张伟 --phone 13800000001 --title 采购经理
run contact add 华东精密机械有限公司 李娜 --email lina@example.cn
run interaction log 华东精密机械有限公司 --kind 拜访 --summary 介绍新款传感器 --at 2026-11-29T09:00
run plan set 华东精密机械有限公司 --text "2027 年扩大传感器份额" --review 2027-03-31
complaint=$(id_of complaint open 华东精密机械有限公司 --severity major --summary 交货延迟)
echo "opened complaint $complaint"
run complaint respond 华东精密机械有限公司 "$complaint" --text 已致电客户致歉
run complaint escalate 华东精密机械有限公司 "$complaint" --to 王经理
run complaint investigate 华东精密机械有限公司 "$complaint" --departments 物流部,生产部 --findings 仓库排期错误
run complaint resolve 华东精密机械有限公司 "$complaint" --text 补发货物并赔偿运费
run channel add 苏州华信分销有限公司 --kind 分销商 --region 华东 --lines sensors
run channel review 苏州华信分销有限公司 --result 通过 --note 营业执照与财务报表齐全
run channel assess-risk 苏州华信分销有限公司 --level low
run channel agreement 苏州华信分销有限公司 --rights 华东区域销售传感器 --responsibilities "季度销量不低于 500 台" --plan "2027 年联合推广" --from "$today" --to 2030-12-31 --signed
run channel activate 苏州华信分销有限公司
run customer list
run customer show 华东精密机械有限公司
run channel list
run customer list --json
# The rules on what the tour recorded: nothing to report.
run check
