"""Each rule of the classifier on small examples. Labels, not scores."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import load_config
from bot.resources import load_lexicon
from responders.classify import classify_text

LEXICON = load_lexicon(load_config(env={}))
# The lexicon rules alone, without the learned model (built once: it compiles an automaton).
RULES = dataclasses.replace(LEXICON, model=None)


def sort(text: str, subject: str = ""):
    return classify_text(subject, text, LEXICON)


def sort_by_rules(text: str):
    return classify_text("", text, RULES)


# -- hard negatives named in the issue --------------------------------------------------


def test_question_about_police_disclosure_is_a_consultation():
    c = sort("Under what circumstances would you disclose data to the police?")
    assert c.category == "consultation" and c.request_types == ()


def test_unconsented_disclosure_is_a_complaint_not_a_records_request():
    c = sort("You disclosed my address to a third party without consent!")
    assert c.category == "complaint"
    assert "third_party_records" not in c.request_types


def test_a_member_who_received_a_call_is_not_staff():
    c = sort_by_rules(
        "提携先を名乗る会社から電話を受けました。私の個人データを第三者に提供した記録を"
        "開示してください。"
    )
    assert c.request_types == ("third_party_records",)


def test_store_employee_asking_about_a_customers_deletion_is_a_consultation():
    c = sort(
        "I work at your Shibuya store. A customer asked me to delete her personal "
        "data. How should I handle her request?"
    )
    assert c.category == "consultation" and c.request_types == ()


@pytest.mark.parametrize(
    "text",
    [
        "Front desk here. A customer says she still gets our DMs although she opted out in "
        "May, and she is upset. How should I log this?",
        "お疲れさまです、梅田店の佐藤です。お客様から「前にDMを止めてと言ったのにまだ届く」と"
        "言われました。店舗ではどう対応すればよいでしょうか？",
    ],
)
def test_staff_telling_of_a_customers_grievance_ask_how_to_handle_it(text):
    # The grievance is the customer's; the writer asks what to do with it.
    assert sort(text).category == "consultation"


def test_a_customer_naming_an_agency_is_not_staff_asking_for_someone_else():
    c = sort(
        "規約によると購買情報をグループの旅行代理店と共同利用しているそうですが、"
        "私の情報をそちらへ提供するのはやめてください。"
    )
    assert not any(r.startswith("third_person_handler") for r in c.reasons)
    assert c.category == "disclosure_request" and c.request_types == ("third_party_halt",)


@pytest.mark.parametrize(
    "text",
    [
        "Hi all, Aya from Mirai Design (agency, shared channel). I'm leaving Mirai at the "
        "end of the month. Please remove my name, mobile and email from your vendor "
        "contact list.",
        "お疲れ様です。倉敷店の河野です。登録販売者の試験に合格しましたので、人事システムの"
        "保有資格の欄に追加していただけますでしょうか。店長にも伝えてあります。",
    ],
)
def test_staff_asking_about_their_own_data_are_not_handlers(text):
    c = sort(text)
    assert not any(r.startswith("third_person_handler") for r in c.reasons)
    assert c.category == "disclosure_request"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (
            "先日、御社の提携先から電話があり、私の購入履歴を知っていました。"
            "どういうことでしょうか。今後、私の情報を提携先に渡さないでください。",
            "complaint",
        ),
        (
            "提携先から「actioの会員様向けのご案内です」とお電話をいただきました。"
            "今後は私の情報を提携先に渡さないでいただけますか。",
            "disclosure_request",
        ),
    ],
)
def test_a_partner_calling_the_writer_does_not_make_them_staff(text, category):
    # 「提携先から」 reads as a handler's word to the rules; the model is sure the writer
    # speaks for themselves.
    assert sort_by_rules(text).category == "consultation"
    c = sort(text)
    assert c.category == category and c.request_types == ("third_party_halt",)


def test_a_guardian_acting_for_someone_is_not_staff_handling_a_request():
    c = sort(
        "私は黒田善三の成年後見人をしております。登記事項証明書を同封いたします。"
        "ケアマネージャーから相談を受け、ご連絡しました。"
        "本人宛てのカタログの送付を止めていただけますでしょうか。"
    )
    assert not any(r.startswith("third_person_handler") for r in c.reasons)
    assert c.request_types == ("usage_withholding",) and c.deputy


# -- intent without the legal words ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "what do you have on me?",
        "what do you guys have on me?",
        "私についてどんな情報を持っているのか知りたいです。",
    ],
)
def test_what_do_you_have_on_me_is_a_disclosure_request(text):
    c = sort(text)
    assert c.category == "disclosure_request" and "disclosure" in c.request_types


def test_take_me_off_your_list_is_usage_withholding():
    c = sort("take me off your list")
    assert c.category == "disclosure_request" and c.request_types == ("usage_withholding",)


# -- which right is asked for -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "request_type"),
    [
        ("Please stop the SMS promotions.", "usage_withholding"),
        (
            "Could you tell me whether my address was ever passed to other firms?",
            "third_party_records",
        ),
        ("I'd like my details no longer shared with the card partner.", "third_party_halt"),
        ("Please let me know what else is stored about me.", "disclosure"),
        ("差し支えなければ、今後の提供はお控えいただけませんでしょうか。", "third_party_halt"),
        ("今まで渡したのがどこか一覧ください", "third_party_records"),
        (
            "My employer's name is on my card profile. Tell me why you need it.",
            "purpose_notification",
        ),
        ("Please leave my data out of anything you send to manufacturers.", "third_party_halt"),
        ("元夫が私の購入履歴を見られないようにしてください。", "usage_withholding"),
        ("下記のとおりお願いします。\n(1) 私の個人データの開示", "disclosure"),
        ("Please tell me what data of mine you've sent them, and when.", "third_party_records"),
        ("息子の情報が第三者に渡った記録を開示してください。", "third_party_records"),
        # Words that name the data say what the request beside them acts on.
        ("Could you delete any footage of me from that day?", "usage_withholding"),
        (
            "your camera at the self checkout is pointed right at the PIN pad. delete any "
            "footage of me paying on 5/6 around 8pm.",
            "usage_withholding",
        ),
    ],
)
def test_a_request_put_in_everyday_words_is_recognised_by_the_rules(text, request_type):
    # Frames: the words of the request stand a few words apart ("stop the SMS promotions").
    assert sort_by_rules(text).request_types == (request_type,)


@pytest.mark.parametrize(
    "text",
    [
        "The note on my account says I returned used items. It is not correct. Please delete it.",
        "登録されてる勤務先、もう辞めてるので消しといてもらえますか。",
        "アプリに行ったことのない店の来店記録があります。事実と違う記録なので削除してください。",
        # Out of date: an old number or a former address is no longer true of the writer.
        "My old number is still on my account as a second contact. Please delete it.",
        "前の携帯番号がまだ登録に残っています。その番号は消してください。",
        "There is a purchase in my history that I did not make. Please delete it.",
    ],
)
def test_deleting_an_untrue_entry_is_a_revision(text):
    assert sort(text).request_types == ("revision",)


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        ("Please stop sending my details to the insurance company.", ("third_party_halt",)),
        (
            "Tell me which partners got my data, then stop sending it to them.",
            ("third_party_halt", "third_party_records"),
        ),
        ("提携先の会社に私の情報を渡すのは、やめてください。", ("third_party_halt",)),
        ("私の個人データを第三者へ提供することは停止してください。", ("third_party_halt",)),
        # Two requests: the stop word has an object of its own.
        (
            "Please stop using my data for marketing, and stop sharing it with partners.",
            ("usage_withholding", "third_party_halt"),
        ),
        (
            "私の情報の利用を停止し、第三者への提供も停止してください。",
            ("usage_withholding", "third_party_halt"),
        ),
    ],
)
def test_a_stop_word_that_governs_provision_halts_the_provision(text, request_types):
    assert sort_by_rules(text).request_types == request_types


@pytest.mark.parametrize(
    "text",
    [
        "I received the disclosure you sent in May, nine weeks after I asked. Unacceptable.",
        # Even a request's own words only tell of it after "I have".
        "I have unsubscribed three times already and the mails keep coming. Unacceptable.",
        "I already asked you for the deletion of my account in March. Unacceptable.",
        "3月に退会したのに、まだメールが届きます。本当に迷惑です。",
        "I submitted a disclosure request in February and have heard nothing since. Unacceptable.",
        "3月に開示請求書を送付しましたが、まだ何の連絡もありません。ひどいです。",
        # The request's own verb ("stop", 止めて) sits inside the telling: it asks nothing.
        "I asked your call centre in April to stop sending me catalogues. They still come. "
        "Unacceptable.",
        "春にDM止めてってお店で頼んだけど、結局ずっと届いてます。ひどいです。",
        "前に電話でDM止めてもらったはずなのに、またカタログが来た。ひどい。",
        # Counting the asks is telling of them too.
        "whatever. asked twice to delete my stuff, nobody answered. not gonna ask again, "
        "unacceptable.",
        "今年の春、DMを止めてほしいと電話でお伝えしましたが、その後も毎月届いています。ひどいです。",
    ],
)
def test_a_request_told_of_asks_for_nothing(text):
    c = sort_by_rules(text)
    assert c.category == "complaint" and c.request_types == ()


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        # Asked again in words that name no request: the one told of is asked now.
        ("I asked you in April to correct my address. Fix it this time.", ("revision",)),
        ("前にも直してって言ったのに、名前の漢字がまだ間違ってる!! 今度こそ直して", ("revision",)),
        # A new clause after the telling asks on its own.
        ("I have asked twice already, so please delete my account now.", ("usage_withholding",)),
    ],
)
def test_a_request_told_of_and_asked_again_is_asked_now(text, request_types):
    assert sort_by_rules(text).request_types == request_types


@pytest.mark.parametrize(
    "text",
    [
        "提携の引越し業者から突然電話がありました。番号はどこで知ったのでしょうか。",
        "Your staff handled my revision request last week. Thank you.",
        "先週アプリで住所変更しました。ポイントの有効期限はいつまでですか？",
        "利用停止の件は先月完了しています。今日はポイントの有効期限について伺いたいです。",
    ],
)
def test_naming_a_request_in_passing_asks_for_nothing(text):
    # Moving house, a correction done or the name of a request is a story, not a request.
    assert sort_by_rules(text).request_types == ()


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        (
            "I was going to ask you to delete my account, but first I would like to see what "
            "you hold. Please send me a copy of my data.",
            ("disclosure",),
        ),
        (
            "Please send me my data. After that I will decide whether to ask you to delete it.",
            ("disclosure",),
        ),
        (
            "退会してデータも消してもらおうと思っていたのですが、その前に登録されている情報を"
            "開示してください。",
            ("disclosure",),
        ),
        (
            "削除してくれと言いたいところだが、その前に私について何を持っているのか全部見せろ。",
            ("disclosure",),
        ),
        # A request taken back ("ignore my email asking you to...") asks nothing.
        (
            "Please ignore my email from yesterday asking you to delete my account. What I "
            "do need is for you to correct my email address: it should be mika@example.com.",
            ("revision",),
        ),
        (
            "提携先への情報提供の停止もお願いしようと考えていたのですが、今回は登録内容の"
            "開示だけお願いいたします。",
            ("disclosure",),
        ),
        # What follows a "but" is asked.
        (
            "I was going to ask for a copy of my data, but please just delete my account.",
            ("usage_withholding",),
        ),
        (
            "ポイントカードの情報を開示してもらおうと思っていましたが、やはり退会して全部消してください。",
            ("usage_withholding",),
        ),
    ],
)
def test_a_request_put_off_is_not_asked_now(text, request_types):
    assert sort(text).request_types == request_types


def test_deleting_true_data_is_usage_withholding():
    c = sort("I no longer use the app. Please delete my account and all my data.")
    assert c.request_types == ("usage_withholding",)


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        ("私の通話を研修に使うことはやめてください。", {"usage_withholding"}),
        # Chat shorthand: "u" is "you".
        (
            "can u tell me what u still keep on me & then delete it pls",
            {"disclosure", "usage_withholding"},
        ),
        # Not used for: a stop of the use, not a question of its purpose.
        ("Please make sure my data is no longer used for marketing.", {"usage_withholding"}),
        (
            "I asked for NO phone calls back in July!! Take my number off your call list.",
            {"usage_withholding"},
        ),
        (
            "Please don't share my data with your group companies from now on, and could you "
            "also tell me who already got it?",
            {"third_party_halt", "third_party_records"},
        ),
        ("どっから俺の番号手に入れたん？記録出せや", {"third_party_records"}),
        (
            "私の情報がどこかの業者に渡ったことはありますか。記録があれば見せてもらえますか。",
            {"third_party_records"},
        ),
    ],
)
def test_everyday_wordings_of_a_request(text, request_types):
    assert set(sort_by_rules(text).request_types) == request_types


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        (
            "You sold my data to a list broker. Delete everything you hold on me.",
            ("usage_withholding",),
        ),
        (
            "- Remove the old landline number from my profile, it is not mine any more.",
            ("revision",),
        ),
        # Not an order: another word, or a question.
        ("What happens to my data if I cancel my membership? Deleted right away?", ()),
        ("I told her she needs the form for that. Correct?", ()),
    ],
)
def test_a_sentence_that_opens_with_a_request_verb_orders_it(text, request_types):
    assert sort_by_rules(text).request_types == request_types


def test_a_request_word_inside_a_supposition_asks_nothing():
    c = sort_by_rules("if i delete the app does that delete my account or is that separate")
    assert c.categories == ("consultation",) and c.request_types == ()


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        # 「見直して」 (review) holds 「直して」 (correct).
        ("社内の取扱いを見直していただきたいです。", ()),
        # 「追加で」 (besides) holds 「追加」 (add to the record).
        ("追加で、第三者提供記録の開示もお願いします。", ("third_party_records",)),
        # Keeping data is no request of the six.
        ("Please do not delete my account yet: I still have points on it.", ()),
        ("本件が解決するまで、当日の防犯カメラ映像は消去しないでください。", ()),
    ],
)
def test_a_word_that_holds_a_request_word_asks_for_something_else(text, request_types):
    assert sort_by_rules(text).request_types == request_types


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        # What "it" stops is what the words before it name: the provision of data...
        (
            "Tell me who you gave my data to, and stop it.",
            {"third_party_records", "third_party_halt"},
        ),
        (
            "Let me know whether my details are shared with anyone outside actio, and if so "
            "stop that.",
            {"third_party_records", "third_party_halt"},
        ),
        (
            "息子のアカウントを削除してください。もし他の会社に息子の情報を渡しているのであれば、"
            "それも止めてください。",
            {"usage_withholding", "third_party_halt"},
        ),
        # ...or its use.
        (
            "Tell me what you use my purchase history for, and stop it.",
            {"purpose_notification", "usage_withholding"},
        ),
        (
            "誕生日を何に使っているのか教えてください。広告に使っているなら、それはやめてください。",
            {"purpose_notification", "usage_withholding"},
        ),
    ],
)
def test_a_stop_that_names_no_object_stops_what_came_before(text, request_types):
    assert set(sort_by_rules(text).request_types) == request_types


def test_a_stop_asked_about_is_not_asked_for():
    c = sort_by_rules(
        "My mother keeps receiving your paper catalogue. What is the easiest way for her to "
        "stop it?"
    )
    assert c.request_types == ()


@pytest.mark.parametrize(
    "text",
    [
        "私の個人データを第三者に提供した記録があれば、開示していただけますでしょうか。",
        # 「その記録」 points back at where the data came from.
        "取引もないのに電話が来ました。どこから私の番号を手に入れたのか、その記録を開示してください。",
    ],
)
def test_the_verb_of_a_records_request_does_not_ask_for_a_copy_too(text):
    assert sort_by_rules(text).request_types == ("third_party_records",)


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        (
            "Please send me a copy of my data and the third-party records.",
            {"disclosure", "third_party_records"},
        ),
        (
            "開示と、第三者提供記録の開示の両方をお願いします。",
            {"disclosure", "third_party_records"},
        ),
        ("send me what you have on me + who you gave it to", {"disclosure", "third_party_records"}),
        (
            "I would like to receive (1) all personal data you hold on her, and (2) the "
            "records of any provision of her data to third parties.",
            {"disclosure", "third_party_records"},
        ),
        (
            "依頼者の個人データの全部の開示、及び第三者に提供した記録の開示を求めます。",
            {"disclosure", "third_party_records"},
        ),
        # After the noun of a request, a comma starts the next one.
        (
            "保有個人データの開示、第三者提供記録の開示をお願いします。",
            {"disclosure", "third_party_records"},
        ),
        (
            "本人に関する保有個人データの開示を、同条第5項に基づき第三者提供記録の開示を、"
            "それぞれ請求します。",
            {"disclosure", "third_party_records"},
        ),
        # 「提供先と提供日」 lists what the records hold: と there joins nouns, not requests.
        ("私の情報の提供先と提供日の記録を開示してください。", {"third_party_records"}),
    ],
)
def test_and_between_a_copy_and_the_records_makes_two_requests(text, request_types):
    # The rules alone; otherwise the disclosure verb beside the records is the records'.
    assert set(sort_by_rules(text).request_types) == request_types


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        (
            "Please delete my account and all the data you have on file for me.",
            {"usage_withholding"},
        ),
        ("娘のアカウントと登録されている情報の削除をお願いします。", {"usage_withholding"}),
        # A verb of showing, or a question word, asks for the data itself.
        (
            "Please send me all the data you hold on me and delete my account.",
            {"disclosure", "usage_withholding"},
        ),
        (
            "Tell me what data you hold on me and what you use it for.",
            {"disclosure", "purpose_notification"},
        ),
    ],
)
def test_words_naming_the_data_another_request_acts_on_ask_for_no_copy(text, request_types):
    assert set(sort_by_rules(text).request_types) == request_types


def test_a_copy_asked_for_beside_the_records_is_a_second_request():
    c = sort(
        "Could you tell me which outside parties actio provided my employee information "
        "to during and after my employment, and send me a copy of the personal data HR "
        "still holds about me?"
    )
    assert set(c.request_types) == {"disclosure", "third_party_records"}


@pytest.mark.parametrize(
    "text",
    [
        "Which companies did you send my details to for the campaign? And please don't "
        "send them anywhere else.",
        "誰に私の情報を渡したのか、記録を出してください。それと、これ以上どこにも出さないで。",
        # What was given to whom is the record of provision, not a copy of the data.
        "Can you please confirm what data of mine you gave to the shipping company? And "
        "please stop giving them my phone number.",
    ],
)
def test_who_got_it_and_no_further_are_two_requests(text):
    assert set(sort(text).request_types) == {"third_party_records", "third_party_halt"}


def test_browsing_a_page_is_not_asking_to_inspect_ones_data():
    c = sort("ログインした状態で商品ページを閲覧すると、広告会社のタグが動いているようです。")
    assert "disclosure" not in c.request_types


@pytest.mark.parametrize(
    "text",
    [
        "人事評価の記録、懲戒処分に関する調査記録及び面談記録の開示を請求いたします。",
        "私について登録されている内容を一度見せていただけますか。",
        "ネットで買った分の注文履歴、全部データでほしいです。",
    ],
)
def test_asking_to_see_ones_records_is_disclosure(text):
    assert "disclosure" in sort(text).request_types


def test_a_policy_question_inside_a_request_phrase_does_not_make_it_a_question():
    # "do you use" alone asks about policy; inside "what do you use my ... for" it asks
    # for the purpose of one's own data.
    c = sort_by_rules("What do you use my pharmacy purchase data for?")
    assert c.request_types == ("purpose_notification",)
    c = sort_by_rules("Do you use cookies on the online shop?")
    assert c.category == "consultation"


# -- anger, repetition and ignored requests ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "request_type"),
    [
        (
            "This is the third time I am asking you to delete my data. Nobody has answered. "
            "Delete it now!",
            "usage_withholding",
        ),
        (
            "何度もお願いしているのに、いまだに広告メールが届きます。私の個人情報を削除してください。",
            "usage_withholding",
        ),
        ("3rd time asking: please delete my account.", "usage_withholding"),
        ("開示請求して1ヶ月待ってます。まだですか？早く開示してください", "disclosure"),
        (
            "電話番号の訂正をお願いしたのは5月です。まだ直っていないので、070-1234-5678に直してください。",
            "revision",
        ),
        ("2nd request. Correct my DOB. I already asked on 12 Feb.", "revision"),
        (
            "I emailed you about this in May and did not receive any reply. Please delete my "
            "account.",
            "usage_withholding",
        ),
        (
            "6月に利用目的の通知をお願いしましたが、まだ回答がありません。通知してください。",
            "purpose_notification",
        ),
        (
            "3月にも同じ内容でメールをお送りしましたが、お返事をいただけていないようですので、"
            "改めてご連絡いたします。DMへの利用を停止してください。",
            "usage_withholding",
        ),
    ],
)
def test_an_ignored_request_is_a_complaint_and_keeps_the_request(text, request_type):
    c = sort(text)
    assert c.category == "complaint"
    assert "disclosure_request" in c.categories
    assert request_type in c.request_types


@pytest.mark.parametrize(
    "text",
    [
        "I have moved house three times since I joined, so please send me every address you "
        "hold for me.",
        "i signed up twice by accident, can you wipe my second account?",
        "I applied to actio twice, in 2022 and 2023. Please tell me what you keep about my "
        "applications.",
    ],
)
def test_counting_the_writers_own_doings_is_no_anger(text):
    c = sort_by_rules(text)
    assert c.categories == ("disclosure_request",)


@pytest.mark.parametrize(
    "text",
    [
        "What's the fee for a disclosure request?",
        "What’s the fee for a disclosure request?",  # the apostrophe a phone types
        "How many days do you take to answer a disclosure request?",
        "quick q: does the fee apply to correction requests too or only disclosure?",
        "訂正の請求って手数料かかりますか？",
        "第三者提供記録の開示請求って、どういう手順で進めればいいですか？",
        # A request named as the topic of a question (「〜って」, 「〜とは」) is asked about.
        "第三者提供記録の開示って、何年分くらいまで見られるんですか？",
        "利用目的の通知って有料なんですか？",
        "利用停止と消去って何が違うんですか？",
        # An article makes it any such request, not this writer's.
        "Can I make a disclosure request over the phone, or does it have to be in writing?",
        "hey is it true that u can refuse a disclosure request? when?",
    ],
)
def test_a_question_about_a_request_is_a_consultation(text):
    c = sort(text)
    assert c.categories == ("consultation",) and c.request_types == ()


@pytest.mark.parametrize(
    ("text", "calm"),
    [
        ("take me off your mailing list 😡", "take me off your mailing list 🙂"),
        ("メルマガ止めてください😠", "メルマガ止めてください🙏"),
    ],
)
def test_an_angry_face_in_a_chat_message_makes_the_request_a_complaint(text, calm):
    c = sort(text)
    assert c.category == "complaint" and c.request_types == ("usage_withholding",)
    assert "disclosure_request" in c.categories
    assert sort(calm).category == "disclosure_request"


def test_a_repeated_ask_stays_a_complaint_when_the_model_reads_a_plain_request():
    # The model alone reads this calm wording as a plain correction request.
    text = "For the second time: please correct the birthday on my account to 4 March 1990."
    assert LEXICON.model.read(text).category["disclosure_request"] > 0.5
    c = sort(text)
    assert c.category == "complaint" and c.request_types == ("revision",)
    assert "disclosure_request" in c.categories


def test_a_calm_grievance_stays_a_complaint_while_the_model_finds_one_plausible():
    text = (
        "I never agreed to receive texts from partner companies. Could you tell me what you "
        "use my mobile number for, and stop passing it to them?"
    )
    # Less likely than a plain request, in the model's reading; likely enough to stand.
    assert 0.25 <= LEXICON.model.read(f"\n{text}").category["complaint"] < 0.5
    c = sort(text)
    assert c.category == "complaint" and "disclosure_request" in c.categories
    assert set(c.request_types) == {"purpose_notification", "third_party_halt"}


@pytest.mark.parametrize(
    "text",
    [
        "I'm not angry, but please stop sending me the catalogue.",
        "別に怒ってへんけど、俺の位置情報は使わんでええから止めといて。",
        "御社の対応に不満があるわけではありません。念のため、私の情報を電話勧誘に使うのは止めてください。",
        # The model alone reads a grievance here.
        "I'm not angry, just tired of it. I bought a sofa in March and since then every page "
        "shows me sofa ads. I don't need another one. Please stop using my purchase history "
        "for advertising.",
    ],
)
def test_disclaimed_anger_leaves_a_plain_request(text):
    c = sort(text)
    assert c.categories == ("disclosure_request",)
    assert c.request_types == ("usage_withholding",)
    assert not any(r.startswith("anger") for r in c.reasons)


@pytest.mark.parametrize(
    ("text", "request_type"),
    [
        (
            "I got a leak notice from my bank and I am worried. Nothing to do with you. "
            "Please stop using my phone number for marketing calls.",
            "usage_withholding",
        ),
        (
            "御社に落ち度があると言っているのではありません。先月、元の住所に届いた郵便物を今の住人の方"
            "に開けられてしまい、とても不安になりました。登録の住所を新しい住所に訂正してください。",
            "revision",
        ),
        (
            "御社のせいだとは思っていません。先週、知らない業者から私の名前入りの営業電話があり、とても"
            "怖い思いをしました。私の電話番号を第三者に提供したことがあれば、提供先を教えてください。",
            "third_party_records",
        ),
    ],
)
def test_a_disclaimer_said_outright_covers_the_story_around_the_request(text, request_type):
    c = sort(text)
    assert c.categories == ("disclosure_request",)
    assert c.request_types == (request_type,)


@pytest.mark.parametrize(
    "text",
    [
        # The next sentence takes the disclaimer back.
        "I'm not angry. But you ignored what I asked in May, and your catalogues still come "
        "every week. Please stop them.",
        # It is about someone else.
        "I'm not angry with the young lady at the desk. You ignored what she wrote down, and "
        "your catalogues still come every week. Please stop them.",
    ],
)
def test_a_disclaimer_taken_back_or_about_someone_else_leaves_the_grievance(text):
    assert sort(text).categories == ("complaint", "disclosure_request")


def test_a_correction_not_made_is_no_disclaimer():
    # "not made" starts like "not mad".
    c = sort(
        "The correction I asked for in April was not made, which is disappointing. "
        "Please make it now."
    )
    assert c.category == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "This is insulting and wrong. Please delete the false note on my record.",
        "高齢の母を狙うようなやり方に強い憤りを感じています。母の情報を営業に使うのはやめてください。",
        "ポイントカードに年収まで書かせるのは、さすがに取りすぎだと思います。年収の情報は消去してください。",
        "回答が定額小為替のみとは、納得がいきません。とにかく私の保有個人データを開示してください。",
    ],
)
def test_a_grievance_in_strong_words_is_a_complaint_with_its_request(text):
    c = sort(text)
    assert c.category == "complaint" and "disclosure_request" in c.categories


# -- deputies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I am writing on behalf of my son, who is 15, to request a copy of his personal data.",
        "成年後見人として、被後見人の保有個人データの開示を請求します。",
        "As her attorney, I request disclosure of all personal data you hold about my client.",
        "弁護士の山田です。依頼人の代理人として、保有個人データの利用停止を求めます。",
        "Enclosed is a power of attorney from my father; please send me his purchase records.",
        "委任状を添付しますので、母の個人情報の開示をお願いします。",
    ],
)
def test_deputies_are_recognised(text):
    assert sort(text).deputy


def test_mentioning_family_in_passing_is_not_a_deputy():
    assert not sort("My mother told me about your shop. Please delete my own account data.").deputy


def test_naming_a_relative_is_not_acting_for_one():
    c = sort(
        "My daughter tells me shops keep a lot of information about customers these days. "
        "Would it be possible for me to see what is written on my own member record?"
    )
    assert c.category == "disclosure_request" and not c.deputy


# -- normalisation ----------------------------------------------------------------------


def test_full_width_text_matches():
    assert sort("ＰＬＥＡＳＥ ＤＥＬＥＴＥ ＭＹ ＤＡＴＡ").request_types == ("usage_withholding",)


def test_typos_still_match():
    c = sort("i want to acess my personel data, send me a copy plese")
    assert c.category == "disclosure_request" and "disclosure" in c.request_types


@pytest.mark.parametrize(
    "text",
    [
        # "delivered" was read as "misdelivered", "satisfied" as "dissatisfied".
        "do the delivery companies keep my phone number and address after the parcel is "
        "delivered? for how long?",
        "Thank you, I am satisfied with your answer and need nothing further.",
    ],
)
def test_a_real_word_is_not_read_as_the_lexicon_word_it_resembles(text):
    assert sort_by_rules(text).category == "consultation"


def test_greeting_and_signature_lines_do_not_count():
    c = sort("お世話になっております。\n利用目的を通知してください。\nよろしくお願いいたします。")
    assert c.request_types == ("purpose_notification",)


def test_language():
    assert sort("個人情報の開示をお願いします。").language == "ja"
    assert sort("Please send me a copy of my data.").language == "en"


@pytest.mark.parametrize(
    "text",
    [
        "I am SO ANGRY. My bank leaked my card number last week!! How do you protect mine?",
        "Data breach at my mobile carrier, furious about it. Does actio store card numbers?",
        "別の通販会社から情報が漏れて本当に腹が立っています！！御社はどんな対策をしていますか？",
        "あの会社、何度言っても迷惑メールが止まらない。最悪。御社の個人情報の管理はどうなっていますか？",
        # A grievance that names no company goes on about the one blamed just before it.
        "Another shop leaked my card number last month. Now my card has been misused twice "
        "and I am furious. How do you protect card data?",
        "別の通販会社から個人情報漏えいのお知らせが来ました。住所も電話番号も全部漏れたそうで、"
        "本当に頭にきています。御社はどういう対策をしているのですか？",
    ],
)
def test_anger_at_another_company_is_not_a_complaint_about_us(text):
    c = sort_by_rules(text)
    assert c.category == "consultation"
    assert any(r.startswith("elsewhere:") for r in c.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Another company called me about my order. You sold my data without my consent!",
        "I never gave that company my number. It must have come from your store. Unacceptable!",
        "他社に私の情報を渡すなんて聞いていません。誰にいつ渡したのか教えてください。",
        "別の会社から勧誘の電話が来ました。勝手に情報を渡したのですか！",
    ],
)
def test_a_grievance_about_our_data_reaching_another_company_is_a_complaint(text):
    # The other company is where the data went, or the grievance is also aimed at us.
    assert sort_by_rules(text).category == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "I am furious at KiraMart. They leaked my address and phone number last week. Do you "
        "share any customer data with them?",
        "SkyNet Mobile leaked my details and I'm livid. Is actio connected to them in any way?",
        "○○電機から個人情報漏えいのお知らせが届き、本当に腹が立っています。御社は○○電機と提携して"
        "いますか？",
    ],
)
def test_anger_at_a_company_named_by_its_own_name_is_not_a_complaint_about_us(text):
    assert sort(text).categories == ("consultation",)


@pytest.mark.parametrize(
    "text",
    [
        "You gave my address to Sakura Insurance without asking me! I am furious.",
        "ミライ生命から勧誘の電話が来ました。御社が私の電話番号を勝手に渡したのですね。本当に腹が"
        "立ちます。",
    ],
)
def test_our_data_reaching_a_named_company_is_still_a_complaint(text):
    assert sort(text).category == "complaint"


@pytest.mark.parametrize(
    ("text", "request_types"),
    [
        (
            "A bit disappointed that cancelling my membership last year didn't take me off "
            "your SMS list. Could you stop the texts please?",
            ("usage_withholding",),
        ),
        (
            "店でポイントカードを作るとき年収まで書かされましたが、フェアではないと思います。"
            "年収の欄は消してください。",
            ("usage_withholding",),
        ),
        # A request of the past named in passing asks nothing now.
        (
            "The envelope with the results of my disclosure request arrived unsealed. "
            "I was not pleased.",
            (),
        ),
        ("Your reply to my disclosure request took four months. Unacceptable.", ()),
    ],
)
def test_mild_dissatisfaction_is_a_complaint(text, request_types):
    c = sort_by_rules(text)
    assert c.category == "complaint" and c.request_types == request_types


# -- the learned model beside the rules -------------------------------------------------


def test_a_plain_story_of_harm_is_a_complaint_without_any_angry_word():
    # No phrase of the lexicon fires; the model, learned from labelled mail, knows the story.
    text = (
        "left a voicemail on our home landline about my order being ready. my kid played "
        "it back. thanks a lot"
    )
    c = sort(text)
    assert c.category == "complaint"
    assert any(r.startswith("model: complaint") for r in c.reasons)
    without_model = sort_by_rules(text)
    assert without_model.category != "complaint"


def test_the_model_adds_the_second_request_the_rules_missed():
    text = (
        "what do you use the step count from the walking campaign for? and can you stop "
        "using it once the campaign's over, i only joined for the coupon"
    )
    without_model = sort_by_rules(text)
    assert without_model.request_types == ("usage_withholding",)
    c = sort(text)
    assert set(c.request_types) == {"purpose_notification", "usage_withholding"}
    assert "model: purpose_notification" in " ".join(c.reasons)


def test_the_model_drops_a_request_type_it_rules_out():
    # The rules' only type named here is "purchase history" (disclosure); the model,
    # which takes this for a request, rules that out and names the right one.
    c = sort(
        "Would you mind not using my purchase history to recommend things to me? I buy "
        "gifts for other people a lot and the suggestions are becoming rather odd.",
        subject="Recommendations",
    )
    assert c.request_types == ("usage_withholding",)
    assert "model: not disclosure" in " ".join(c.reasons)


def test_the_model_drops_a_request_a_grievance_only_tells_of():
    # The rules read "my unsubscribe request" as a request; the writer tells of it, and has
    # given up asking.
    text = (
        "Your newsletter kept coming all summer after my unsubscribe request in spring. "
        "I've given up asking. It's just disappointing."
    )
    without_model = sort_by_rules(text)
    assert without_model.request_types == ("usage_withholding",)
    c = sort(text)
    assert c.category == "complaint" and c.categories == ("complaint",)
    assert c.request_types == ()
    assert any(r.startswith("model: no request") for r in c.reasons)


def test_a_request_asked_now_stays_beside_a_grievance():
    # Mostly a story of embarrassment, which the model reads as a grievance alone; the last
    # sentence asks, now, for the record to go.
    c = sort(
        "レジで店員さんが私の名前と電話番号を大声で読み上げました。本当に恥ずかしかった。"
        "あの日の私の記録は全部消してもらえますか。"
    )
    assert c.category == "complaint"
    assert c.request_types == ("usage_withholding",)
    assert "disclosure_request" in c.categories


def test_the_model_finds_the_request_in_a_grievance_the_rules_missed():
    text = (
        "You printed my home address on a parcel label for a neighbour's order. Unacceptable. "
        "Whatever is in your files about me, I want to see it all."
    )
    without_model = sort_by_rules(text)
    assert without_model.request_types == ()
    c = sort(text)
    assert c.category == "complaint"
    # The model may add a second type it is barely sure of (see the checked types).
    assert "disclosure" in c.request_types
    assert c.categories == ("complaint", "disclosure_request")


@pytest.mark.parametrize(
    "text",
    ["You leaked my address to a mailing company. I am furious.", "take me off your list"],
)
def test_a_short_plain_message_is_answered_without_a_human(text):
    # The model has little to go on in a line: its share of the blend shrinks with it,
    # so its near-even odds do not drown the rules' plain answer.
    assert not sort(text).needs_human


def test_the_model_does_not_talk_a_short_outright_request_away():
    c = sort("take me off your list")
    assert c.category == "disclosure_request"
    assert not any(r.startswith("model:") for r in c.reasons)


# -- output shape -----------------------------------------------------------------------


def test_low_confidence_needs_a_human_and_reasons_are_given():
    unclear = sort("hello?")
    assert unclear.needs_human
    clear = sort("Please delete all personal data you hold about me.")
    assert not clear.needs_human
    assert any("usage_withholding" in r for r in clear.reasons)
    assert 0 <= clear.confidence <= 1
