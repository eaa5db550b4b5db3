"""The authored lexicon behind the shipped default classifier (舆情回应, DOMAIN.md §4).

Every word here was written by the team from general knowledge of government message
boards (政府留言板的一级分类) and the seed plan's hot topics (方案§五(四)) and urgent classes
(方案§17). No public data set was copied: the shipped model must work without one, and a
district can train its own on its labelled history (`gongkai sentiment train`).

The lists are data, not code: a district may replace them by training its own model.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: First-level topic categories (一级分类) with the words that point to them. The first seven
#: are the usual message-board categories; the rest cover what a township also receives.
TOPIC_TERMS: Final = MappingProxyType(
    {
        "城乡建设": (
            "小区 物业 业主 开发商 楼盘 房屋 住房 房产 购房 交房 烂尾 拆迁 征收 征地 安置 "
            "安置房 棚改 违建 违章建筑 违法建设 施工 工地 工程 围挡 规划 容积率 电梯 "
            "加装电梯 供水 停水 自来水 水压 供电 停电 燃气 天然气 供暖 暖气 下水道 管网 "
            "排水 积水 路灯 市政 城管 占道 绿化 垃圾清运 公厕 老旧小区 改造 房产证 不动产 "
            "产权 维修基金 安全隐患 坍塌 危房 农村建房 宅基地 村庄 新农村 人居环境 "
            "城中村 商铺 车位 停车位 地下室 渗水 漏水 墙体 开裂 消防通道"
        ),
        "环境保护": (
            "污染 环境污染 噪音 噪声 扰民 异味 臭味 恶臭 排污 污水 废水 废气 排放 粉尘 "
            "扬尘 烟尘 油烟 焚烧 秸秆 垃圾焚烧 环保 环评 环境 生态 河道 水质 黑臭 "
            "化工厂 工厂 偷排 直排 偷倒 固废 危废 辐射 基站 养猪场 养殖场 砂石 "
            "采石场 搅拌站 沥青 雾霾 空气质量 砍伐 树木 湿地 排污口 废渣 填埋"
        ),
        "交通运输": (
            "交通 公交 公交车 公交站 线路 班次 地铁 出租车 网约车 的士 司机 客运 "
            "道路 马路 公路 高速 收费站 红绿灯 信号灯 斑马线 人行道 路口 拥堵 堵车 "
            "违停 停车 限行 限速 驾照 驾驶证 车辆 机动车 电动车 摩托车 货车 渣土车 "
            "超载 交警 罚款 扣分 违章 年检 车检 路面 坑洼 修路 铁路 火车站 "
            "高铁 站台 运营 航班 机场 快递 物流 共享单车 桥梁 隧道 客车 校车"
        ),
        "教育文体": (
            "学校 学生 孩子 小孩 家长 老师 教师 班主任 校长 幼儿园 小学 初中 中学 "
            "高中 大学 学院 入学 招生 学位 学区 划片 择校 转学 升学 中考 高考 "
            "考试 成绩 补课 培训机构 课外 教育 教学 课程 作业 减负 学费 收费 "
            "食堂 校服 校车 寒假 暑假 开学 放假 教育局 民办 公办 体育 图书馆 "
            "文化 体育馆 健身 广场舞 博物馆 文物 比赛 运动会 教师编制 代课"
        ),
        "劳动和社会保障": (
            "工资 拖欠 欠薪 讨薪 农民工 工钱 劳动 劳务 劳动合同 合同 辞退 解雇 "
            "加班 加班费 工伤 社保 社会保险 养老保险 医疗保险 医保 失业 失业金 "
            "公积金 住房公积金 退休 退休金 养老金 养老 低保 五险一金 缴纳 补缴 "
            "参保 就业 招聘 人社局 劳动仲裁 仲裁 用人单位 员工 职工 企业 公司 "
            "事业单位 编制 人事 待遇 补贴 津贴 退役军人 优抚 残疾人 救助 困难"
        ),
        "商贸旅游": (
            "商家 商户 店铺 超市 商场 市场 菜市场 价格 涨价 物价 收费 消费 消费者 "
            "退款 退货 投诉商家 购物 商品 假货 质量 虚假宣传 诈骗 传销 预付卡 "
            "会员卡 健身卡 充值 跑路 旅游 景区 景点 门票 导游 旅行社 酒店 宾馆 "
            "民宿 餐馆 饭店 外卖 电商 网购 营业执照 工商 市场监管 经营 摊贩 "
            "烟花爆竹 加油站 银行 贷款 金融 理财 保险公司 中介 房屋中介 电信 "
            "宽带 话费 运营商"
        ),
        "卫生计生": (
            "医院 医生 护士 患者 病人 看病 就医 挂号 门诊 住院 手术 治疗 诊所 "
            "卫生院 社区卫生 卫健委 卫生局 疫苗 接种 疫情 核酸 发热 隔离 传染病 "
            "药品 药店 药价 处方 医疗 医疗事故 医患 病历 体检 出生证 准生证 "
            "生育 二胎 计划生育 独生子女 孕妇 产检 分娩 新生儿 妇幼 献血 "
            "食品安全 食物中毒 卫生许可 健康证 养老院 精神病 急救 120"
        ),
        "政务服务": (
            "一网通办 政务服务 政务大厅 办事大厅 便民服务中心 行政审批 婚姻登记 户口 户籍 "
            "落户 身份证 居住证 信息公开 政府网站"
        ),
        "公安政法": (
            "治安 报警 110 警察 民警 派出所 盗窃 偷盗 小偷 打架 斗殴 诈骗 赌博 "
            "黄赌毒 涉黑 黑恶 恐吓 威胁 人身安全 法院 判决 执行 律师 纠纷"
        ),
        "农村农业": (
            "农业 农村 农民 种植 粮食 小麦 玉米 土地流转 承包地 耕地 农田 灌溉 "
            "水利 农机 补贴款 惠农 扶贫 脱贫 合作社 村委会 村干部 村民 集体 "
            "养殖 畜牧 兽医 农药 化肥 种子 大棚 蔬菜 果树"
        ),
    }
)

#: Hot topics the seed names (方案§五(四)). A message may carry several tags.
HOT_TOPIC_TERMS: Final = MappingProxyType(
    {
        "疫情防控": "疫情 防疫 核酸 隔离 新冠 确诊 密接 健康码 疫苗 口罩 封控 发热门诊",
        "工资拖欠": "拖欠工资 欠薪 讨薪 拖欠 工资未发 不发工资 克扣工资 工钱 农民工工资",
        "环境污染": "污染 排污 偷排 直排 恶臭 臭味 异味 废气 废水 污水 粉尘 扬尘 噪音 黑臭",
        "教育公平": "学位 划片 择校 入学 招生 学区 借读 随迁子女 公平 加分 录取 插班",
        "食药安全": "食品安全 食物中毒 变质 过期 地沟油 假药 药品 食堂 添加剂 农药残留 卫生许可",
        "市场监管": "假货 虚假宣传 价格欺诈 哄抬 无证经营 营业执照 预付卡 跑路 短斤少两 市场监管",
        "社保医保": "社保 医保 养老保险 医疗保险 报销 参保 缴费 养老金 退休金 低保 失业金",
    }
)

#: Urgent classes (方案§17). Major emergencies start the 5-hour / 24-hour clocks.
URGENCY_TERMS: Final = MappingProxyType(
    {
        "public_emergency": (  # 突发公共事件
            "爆炸 火灾 起火 着火 失火 坍塌 倒塌 塌方 中毒 泄漏 泄露 踩踏 死亡 身亡 "
            "遇难 伤亡 重伤 群体性 聚集 堵路 围堵 跳楼 溺水 事故 命案 传染病暴发"
        ),
        "natural_disaster": (  # 自然灾害
            "地震 洪水 洪涝 暴雨 内涝 泥石流 山体滑坡 滑坡 冰雹 台风 干旱 旱灾 "
            "暴雪 雪灾 龙卷风 山洪 决堤 溃坝 森林火灾"
        ),
        "major_livelihood": (  # 重大民生
            "停水 停电 停暖 断水 断电 断气 没有暖气 饮用水 拖欠工资 欠薪 讨薪 "
            "上学难 看病难 无法就医 无家可归 危房 安全隐患 老人 孤寡"
        ),
        "policy_misreading": (  # 误读政策
            "听说 传言 谣言 网传 据说 是真的吗 是不是真的 误读 误解 曲解 "
            "政策解读 新政 新规 文件规定 政策规定 到底 怎么理解 是否属实"
        ),
    }
)

URGENCY_LABELS_ZH: Final = MappingProxyType(
    {
        "public_emergency": "突发公共事件",
        "natural_disaster": "自然灾害",
        "major_livelihood": "重大民生",
        "policy_misreading": "误读政策",
    }
)

NEGATIVE_TERMS: Final = (
    "投诉 举报 不满 不满意 愤怒 气愤 无奈 失望 绝望 寒心 心寒 无良 黑心 欺骗 "
    "欺诈 坑 坑害 敷衍 推诿 扯皮 不作为 乱作为 刁难 没人管 无人管 置之不理 "
    "拖延 拖欠 克扣 违法 违规 非法 强行 霸占 恶劣 糟糕 太差 很差 极差 差劲 "
    "混乱 脏乱差 难受 痛苦 困扰 苦不堪言 扰民 危害 危险 隐患 污染 噪音 恶臭 "
    "乱收费 乱象 骗 损失 伤害 受害 欺负 威胁 报复 迟迟 无果 石沉大海 凭什么 "
    "质问 恐慌 害怕 焦虑 "
    # a utility cut off is what a 12345 call is about, whatever else it says
    "停水 停电 断水 断电 停气 断气 成问题 "
    # general feelings and verdicts (issue #19: the lexicon had 86 negative, 36 positive words)
    "讨厌 恶心 生气 伤心 难过 郁闷 烦人 烦躁 崩溃 后悔 上当 差评 无语 可怕 悲伤 心痛 "
    "痛心 委屈 可恶 气死 倒霉 坑爹 忽悠 难吃 难看 难听 劣质 粗糙 不值 太贵 很慢 太慢"
)

#: Words common in complaints but also in any other text (一直, 不能, 为什么; 垃圾 is also
#: 垃圾分类, garbage): each counts
#: `WEAK_WEIGHT` instead of 1 toward the polarity, so one of them alone no longer decides
#: a text. They still count fully toward intensity (what the hotspot window sums).
WEAK_NEGATIVE_TERMS: Final = (
    "不管 影响 无法 不能 不给 拒绝 长期 多次 一直 至今 难道 为什么 怎么回事 严重 担心 垃圾"
)

#: 建议, 希望 and 期待 are not here: a suggestion or a wish is neither praise nor complaint
#: (建议 is a request cue below; 希望尽快解决 is usually a complaint's last line).
POSITIVE_TERMS: Final = (
    "感谢 谢谢 感激 点赞 表扬 称赞 满意 好评 赞扬 赞 辛苦 辛苦了 及时 高效 热情 "
    "耐心 负责 认真 周到 贴心 到位 方便 便民 快捷 顺利 解决了 已解决 好 很好 "
    "不错 优秀 温暖 感动 支持 改善 提升 "
    # general praise and feelings (issue #19)
    "开心 快乐 喜欢 喜爱 可爱 漂亮 好看 好听 好吃 好用 美味 值得 推荐 很棒 太棒 "
    "超棒 完美 精彩 舒服 划算 实惠 超值 给力 靠谱 惊喜 欣慰 温馨 美好 感恩 佩服 敬佩 "
    "物美价廉 性价比高"
)

#: Weibo emoticons as posted (`[嘻嘻]`), a small unambiguous set; each counts as one word.
POSITIVE_EMOTICONS: Final = (
    "[哈哈] [嘻嘻] [爱你] [心] [鼓掌] [赞] [good] [太开心] [偷笑] [耶] [给力] [笑哈哈]"
)
NEGATIVE_EMOTICONS: Final = (
    "[泪] [怒] [抓狂] [衰] [伤心] [可怜] [委屈] [鄙视] [吐] [大哭] [失望] [怒骂] [生病] [悲伤]"
)

#: Cues of a question or a request (咨询、求助、建议). With no sentiment word beside them a
#: message asks for something and is neutral: the polarity model, trained on reviews, reads
#: 什么时候 or 需要 as complaints. (A question mark alone is no cue: 这也叫正品？ complains.)
REQUEST_CUES: Final = (
    "请问 咨询 想问 想了解 请教 建议 能否 可否 能不能 可不可以 什么时候 何时 "
    "怎么办理 怎样办理 如何办理 哪些材料 需要什么材料 办理流程"
)

#: Words that make a feeling stronger.
INTENSIFIERS: Final = "非常 特别 十分 极其 极 太 严重 强烈 实在 根本 完全 彻底 一再 再三 屡次 多次"

#: Words that flip the polarity of the next sentiment word (不满意 is listed as a whole word).
NEGATIONS: Final = "不 没 没有 未 无 别 毫无 并非 不是"


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of a lexicon entry, de-duplicated in order."""
    return tuple(dict.fromkeys(text.split()))
