"""Deterministic red-flag screen: the first thing the consultation agent runs on every patient message.

Only regular expressions and keyword lists (no model): the same text always gives the same flags, in well under
a millisecond for a 2,000-character message. `screen` only detects; the agent keeps the flags in its state, never
downgrades them, and tells the patient to call the configured number (`emergency_message`).

Choices, written down so they can be reviewed:

* Safety first: when a phrase is ambiguous the screen fires (a false alarm costs less than a missed stroke).
  Chest pain alone is a red flag (`chest_pain`): it has to be assessed urgently, danger features or not.
* Negation: a cue (no, not, never, without, denies, don't/doesn't/isn't ..., free of, negative for; sin, nunca,
  pas, sans, jamais; 没有/不/无 just before; لا/ليس/بدون; नहीं just after a Hindi term) cancels a match only when
  it stands within the 7 words before it in the same clause. Clauses end at . ! ? ; : and new lines, at
  "but/however/although/because", and at ", / and / or" followed by a new subject ("no fever and I can't breathe"
  fires). "not sure", "no idea", "never had pain like this" are not negations, nor is a cue that starts a red flag
  itself ("no responde y no respira" fires both). A pattern that contains its own negation ("I don't want to live",
  "can't breathe", "won't stop bleeding") is not cancelled by it. A clear denial does cancel self-harm words ("I'm
  not suicidal", "I would never kill myself"); "I don't want to die" does not fire.
* Thunderclap / "worst headache of my life" is its own flag (`sudden_headache`), not `stroke` (which is FAST).
* Infant fever: fever in a baby under 3 months, from `age_years < 0.25` or from the text ("my 6 week old",
  "newborn", "2-month-old"), whatever `age_years` says (the message may be about someone else).
* Meningitis: a rash that does not fade under pressure fires alone; fever fires only with a stiff neck, a purple
  rash, confusion or light sensitivity. Severe abdominal pain fires with a rigid belly or in pregnancy; bleeding in
  pregnancy when it is heavy. A seizure fires when it is the first, is going on now, or lasts 5 minutes or more.
* Spanish, French, Chinese, Arabic and Hindi have short keyword lists for chest pain, breathing, stroke, suicide,
  severe bleeding and unconsciousness; Chinese, Arabic and Hindi are matched as substrings (no word boundaries).
* Matching is on lower-case text with accents folded (é -> e), curly apostrophes straightened and every run of
  white space read as one space; the evidence is quoted from the original text. Text longer than `SCAN_LIMIT`
  characters is scanned at its start and its end.
* Speed: an English regex is tried only where a word of the message starts with one of its prefixes, which are
  read from the regex itself (`_heads`), so the table can be edited freely.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

try:  # read by _heads: the possible first letters of each regex (Python 3.11's regex parser)
    from re import _constants as _C
    from re import _parser
except ImportError:  # pragma: no cover - another Python: every regex is simply searched everywhere
    _C = _parser = None  # type: ignore[assignment]

from pydantic import BaseModel, ConfigDict, Field

SCAN_LIMIT = 20_000
EVIDENCE_MAX = 120
INFANT_AGE_YEARS = 0.25


class RedFlag(BaseModel):
    """One emergency sign found in a message."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable id, e.g. 'stroke'.")
    label: str = Field(description="Short English name for clinicians.")
    evidence: str = Field(max_length=EVIDENCE_MAX, description="The text that matched.")
    advice: str = Field(description="One plain sentence: what to do now (the agent adds the number).")


@dataclass(frozen=True)
class Rule:
    """One red flag as data. Any one of these, not negated, fires it:
    `patterns`: English regexes on lower-case text (a word boundary is put before each);
    `phrases`: '|'-separated Latin-script phrases (es, fr, Hinglish), whole words, accents optional, '*' = any ending;
    `keywords`: '|'-separated substrings (zh, ar, hi).
    Each entry of `all_of` is a combination of groups (each a tuple of regexes) that must all be found somewhere in
    the message; `infant` (a group) fires alone when the patient is younger than 3 months."""

    id: str
    label: str
    advice: str
    patterns: tuple[str, ...] = ()
    phrases: str = ""
    keywords: str = ""
    all_of: tuple[tuple[tuple[str, ...], ...], ...] = ()
    infant: tuple[str, ...] = ()


# ---- shared fragments -------------------------------------------------------------------------------------------
# A gap of a few words that never crosses a negation ("lips are not blue" does not match "lips ... blue").
_G = r"(?:(?!\b(?:not|no|never|without|(?:do|does|did|is|are|was|were|has|have|had|wo|ca)n'?t)\b)[\w\s',/-])"


def _gap(n: int) -> str:
    return f"{_G}{{0,{n}}}"


_P = r"(?:my|his|her|their|the|your|our|one|a)"
_CANT = r"(?:can'?t|cannot|can not|couldn'?t|could not|unable to|not able to)"
_NEG = r"(?:won'?t|will not|doesn'?t|does not|didn'?t|did not|can'?t|cannot|isn'?t|is not|not|hasn'?t|has not|never)"
_SIDE = (
    r"(?:one side|(?:the |my |his |her )?(?:left|right) side|one half|half (?:of )?(?:my|his|her|the) (?:body|face)"
    r"|one arm|one leg|(?:left|right) (?:arm|leg|hand))"
)
_BREATH = (
    rf"(?:{_CANT}|struggl\w* to|hard to|hardly|barely|difficult to) (?:breathe|breath|catch {_P} breath"
    r"|get (?:any |enough )?(?:air|breath))\b(?! through| out of)",
    r"(?:difficulty|difficulties|trouble|problems?|struggling|labou?red|gasping|fighting) (?:with |in |for )?"
    r"(?:breath\w*|air)\b(?! through)",
    r"(?:not|isn'?t|is not|wasn'?t|stopped|has stopped|no longer) breathing\b",
)
_WK = r"(?:[1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_DY = r"(?:[0-9]{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a few)"
_AGE = rf"(?:{_DY}[- ]days?|{_WK}[- ]weeks?|(?:[12](?:\.5)?|one|two|a|one and a half)[- ]months?)"
_INFANT = (
    r"(?:new-?born|neonat\w*)\b",
    rf"{_AGE}[- ]old\b",
    rf"(?:baby|infant|son|daughter|he|she|it) (?:is|was|turned|just turned) (?:only |just )?{_AGE}\b"
    r"(?! pregnant| ago| along)",
    rf"born (?:only |just )?(?:{_AGE}|yesterday|today|last week)(?: ago)?\b",
    rf"(?:(?:baby|infant|newborn)(?:,| is| of)?|aged) {_AGE}\b(?! pregnant| ago| along)",
    r"(?:under|less than|younger than|not yet) (?:3|three) months\b",
)
_FEVER = (
    r"(?:fever\w*|febrile|pyrexi\w*|burning up|hot to (?:the )?touch)\b",
    r"(?:high|raised|running an?|has an?|have an?|had an?|got an?) temp(?:erature)?\b"
    r"(?!\s*(?:of|is|was|at|:)?\s*3[0-7](?:[.,]\d+)?\b)",
    r"(?:3[89]|4[0-2])(?:[.,]\d+)?\s*(?:°|º|degrees?|deg)?\s*c\b",
    rf"temp(?:erature)?\b{_gap(20)}\b(?:3[89]|4[0-2]|100[.,][4-9]|10[1-7])(?:[.,]\d+)?\b",
    r"(?:100[.,][4-9]|10[1-7])(?:[.,]\d+)?\s*(?:°|º|degrees?|deg)\s*f?\b",
)
_PREGNANT = (r"pregnan\w*", r"[0-9]{1,2} weeks (?:pregnant|along|gestation)", r"expecting (?:a baby|twins)")
_STIFF_NECK = (
    rf"stiff\w*{_gap(8)}\bneck\b",
    rf"neck\b{_gap(15)}\b(?:stiff\w*|rigid\w*)",
    rf"{_CANT} (?:bend|touch|put|move|tilt|lower) {_P} (?:neck|head|chin)",
)
_PURPLE_RASH = (
    rf"(?:purple|purplish|dark red|red-purple|bruise-like|pin-?prick)\b{_gap(15)}\b"
    r"(?:rash|spots?|marks?|blotch\w*|dots?)",
    r"petechia\w*|purpur\w*",
)
_CONFUSED = (
    r"(?:confus\w*|disorient\w*|delirious|delirium|very drowsy|hard to wake|difficult to wake|not making sense)",
    r"photophobi\w*|(?:sensitiv\w*|sensitive) to (?:the )?(?:light|brightness)|light (?:hurts|is hurting|bothers)",
    r"(?:can'?t|cannot) (?:stand|bear|tolerate|look at) (?:the )?light|bright lights? hurts?",
)
_TRIGGER = (
    r"(?:stung|stings?|bee|wasp|hornet|insect bite|peanuts?|nuts?|shellfish|prawns?|shrimp|allerg\w*|ate|eating"
    r"|eaten|injection|vaccine|penicillin|amoxicillin|antibiotics?|new (?:medicine|medication|drug|tablet|pill))\b",
)
_HIVES = (r"(?:hives|urticaria|welts|itchy rash|rash all over)\b",)
_ECZEMA = (r"(?:eczema\w*|atopic dermatitis|atopic skin)\b",)
_BLISTERS = (r"(?:blister\w*|vesic\w*|cold sores?)\b",)
_EH_SPREAD = (
    r"(?:spread\w*|getting worse (?:fast|quickly|every)|worsening (?:fast|quickly|rapidly)|rapidly worse\w*)\b",
    r"(?:crust\w*|punched[- ]out|erosions?|ulcer\w*)\b",
)
_SEVERE = (
    r"(?:severe|excruciating|unbearable|agoni\w*|terrible|worst|intense|extreme|10/10|(?:10|ten) out of (?:10|ten))"
)
_BELLY = r"(?:abdominal|abdomen|stomach|belly|tummy|pelvic|pelvis)"
_NOT_PERIOD = rf"(?!{_gap(25)}\b(?:period|menstru\w*|menses)\b)"
_NUM5 = r"(?:[5-9]|[1-9][0-9]+|five|six|seven|eight|nine|ten|fifteen|twenty|thirty)"
_ACHE = r"(?:severe|excruciating|explosive|terrible|intense|blinding|splitting|agoni\w*|unbearable|worst)"

RULES: tuple[Rule, ...] = (
    Rule(
        "unconscious",
        "Unconscious or unresponsive",
        "Check that they are breathing, lay them on their side if they are, and stay with them until help arrives.",
        patterns=(
            r"(?:unconscious|unresponsive|unrousable|unarousable|comatose|out cold)\b",
            r"(?:lost|losing|loss of) conscious",
            r"(?:won'?t|will not|isn'?t|is not|not|hasn'?t|has not) (?:wake|waking|woken|come round|come to"
            r"|coming round|coming to)\b",
            r"(?:can'?t|cannot|couldn'?t|could not|unable to) (?:wake|rouse) (?:him|her|them|my|the|our|dad|mum|mom)\b",
            r"(?:not|isn'?t|is not|won'?t|stopped|no longer) (?:respond\w*|reacting)\b"
            r"(?! to (?:the )?(?:treatment|medication|medicine|antibiotics?|meds|therapy|drugs?))",
            r"collapsed\b(?! lung| vein| disc)",
            rf"(?:baby|infant|newborn|toddler|child|he|she|son|daughter)\b{_gap(20)}\bfloppy\b",
            rf"(?:baby|infant|newborn)\b{_gap(15)}\blimp\b",
            r"(?:no|not|can'?t find|cannot find|can'?t feel) (?:a |any )?(?:pulse|heartbeat|heart beat)\b",
            r"cardiac arrest\b|heart (?:has )?stopped\b",
        ),
        phrases="inconsciente|perdió el conocimiento|no responde|no despierta|no se despierta|inconscient"
        "|perdu connaissance|ne répond pas|ne répond plus|ne se réveille pas|sans connaissance|behosh*",
        keywords="昏迷|不省人事|失去知觉|失去意识|叫不醒|意识不清|失去知覺|失去意識|فاقد الوعي|فقد الوعي|فقدان الوعي"
        "|غائب عن الوعي|مغمى عليه|لا يستجيب|لا يستيقظ|غيبوبة|बेहोश|होश नहीं|होश में नहीं|जवाब नहीं दे|उठ नहीं रहा|उठ नहीं रही",
    ),
    Rule(
        "breathing",
        "Severe difficulty breathing",
        "Sit upright, loosen tight clothing and use a reliever inhaler if you have one while you wait for help.",
        patterns=(
            *_BREATH,
            r"gasping for (?:air|breath)|cyano\w*",
            rf"(?:ribs?|chest|neck|tummy|belly)\b{_gap(15)}\b(?:suck\w* in|pull\w* in|caving in)\b",
            r"(?:turn\w*|go\w*|went|gone) (?:blue|bluish|purple)\b",
            r"(?:baby|infant|he|she|child|son|daughter|toddler)(?:'s| is| looks?| looked| was| has gone| went| turned"
            r"| turning) (?:blue|bluish|grey|gray|purple)\b",
            rf"(?:lips?|face|skin|fingers?|fingertips|tongue|mouth)\b{_gap(15)}\b(?:blue|bluish|purple|grey|gray|ashen)\b",
            r"(?:severe(?:ly)?|extremely|terribly|very) (?:short of breath|shortness of breath|breathless)",
            r"(?:short of breath|breathless|out of breath) (?:at rest|even at rest|while resting|sitting still"
            r"|when (?:talking|speaking))",
            r"(?:is|are|am|he'?s|she'?s|i'?m|baby'?s|started|keeps) choking\b|choking on\b",
            rf"inhaler\b{_gap(20)}\b(?:isn'?t|is not|not|doesn'?t|does not|didn'?t|did not|no longer) (?:help|work)\w*",
        ),
        phrases="no puedo respirar|no puede respirar|me falta el aire|le falta el aire|me ahogo|se ahoga"
        "|dificultad para respirar|no respira|labios morados|je ne peux pas respirer|ne peut pas respirer"
        "|n'arrive pas à respirer|n'arrive plus à respirer|j'étouffe|il étouffe|elle étouffe|difficulté à respirer"
        "|difficultés à respirer|du mal à respirer|ne respire plus|ne respire pas|lèvres bleues|saans nahi|sans nahi",
        keywords="呼吸困难|呼吸困難|喘不过气|喘不過氣|喘不上气|上不来气|无法呼吸|無法呼吸|不能呼吸|透不过气|呼吸不了|嘴唇发紫"
        "|لا أستطيع التنفس|لا استطيع التنفس|ما أقدر أتنفس|ما اقدر اتنفس|صعوبة في التنفس|ضيق في التنفس|ضيق تنفس|اختناق"
        "|لا يتنفس|सांस नहीं ले पा|साँस नहीं ले पा|सांस लेने में तकलीफ|साँस लेने में तकलीफ|सांस लेने में दिक्कत"
        "|साँस लेने में दिक्कत|सांस लेने में कठिनाई|सांस नहीं आ|साँस नहीं आ|दम घुट|होंठ नीले",
    ),
    Rule(
        "chest_pain",
        "Chest pain (possible heart attack)",
        "Stop what you are doing, sit down and rest, and do not drive yourself to hospital.",
        patterns=(
            r"chest(?:[- ](?:area|wall|region|is|feels?|feeling|felt|gets?|getting|got|has been|was|so|very|really"
            r"|quite|a bit|a little|and (?:arm|back|jaw|neck|shoulder)))*[- ]?(?:pains?|painful|hurts?|hurting"
            r"|ach(?:e|es|ing|y)|pressure|tight\w*|heav\w*|discomfort|squeez\w*|crush\w*|burn\w*|sore\w*|constrict\w*"
            r"|killing me)\b",
            r"(?:sore|tight|painful|heavy|aching|burning|crushing|squeezing) chest"
            r"(?: pains?| ache| discomfort| pressure)?\b(?! congestion| infection| cold)",
            r"(?:pains?|pressure|tight\w*|heaviness|discomfort|squeez\w*|crush\w*|ache|aching|weight|elephant)"
            r"(?: (?:in|on|across|around|over|behind|of|at|into|through|under|the|my|his|her|their|your|centre"
            r"|center|middle|left|right|side|whole|upper|sitting|pressing|like|this|that|it|is|was|a|an)){1,6}"
            r" (?:chest|breastbone|sternum)\b(?! congestion| infection| cold| x-?ray| of drawers| drain| tube)",
            r"(?:having|is|it'?s|it is|think|might be|could be|maybe|like|signs? of|symptoms of) an? heart attack\b",
            rf"(?:pain|ache|pressure|tightness)\b{_gap(25)}\b(?:spread\w*|radiat\w*|shoot\w*|travel\w*|mov\w*|go\w*)"
            rf"\b{_gap(15)}\b(?:left arm|jaw)\b",
        ),
        phrases="dolor de pecho|dolor en el pecho|dolor torácico|opresión en el pecho|presión en el pecho"
        "|me duele el pecho|ataque al corazón|douleur thoracique|douleur à la poitrine|douleur dans la poitrine"
        "|mal à la poitrine|oppression thoracique|serrement dans la poitrine|crise cardiaque|seene me dard"
        "|seene mein dard|chhati me dard|chhati mein dard",
        keywords="胸痛|胸口痛|胸口疼|胸部疼痛|胸闷|胸悶|胸口闷|心脏病发作|心臟病發作|心口痛|ألم في الصدر|الم في الصدر"
        "|ألم بالصدر|ألم الصدر|وجع في الصدر|وجع بالصدر|ضيق في الصدر|نوبة قلبية|جلطة قلبية|सीने में दर्द|छाती में दर्द"
        "|सीने में जकड़न|छाती में जकड़न|सीने में भारीपन|दिल का दौरा|हार्ट अटैक",
    ),
    Rule(
        "stroke",
        "Possible stroke",
        "Note the time the symptoms started, and do not eat, drink or take any medicine until you are seen.",
        patterns=(
            rf"(?:face|mouth|smile|lips?)\b{_gap(25)}\b(?:droop\w*|sag\w*|lopsided|crooked|uneven|twisted"
            r"|drop(?:ped|ping)|fallen|slump\w*)",
            rf"(?:droop\w*|sagg\w*|lopsided|crooked|uneven|twisted)\b{_gap(15)}\b(?:face|mouth|smile)\b",
            rf"(?:weak\w*|numb(?:ness|ed)?|paraly\w*|tingl\w*|limp|no feeling|{_CANT} (?:move|feel|lift|raise))\b"
            rf"{_gap(30)}\b{_SIDE}\b",
            rf"{_SIDE}\b{_gap(30)}\b(?:weak\w*|numb(?:ness)?|paraly\w*|droop\w*|limp|dead|(?:went|gone|is|feels?) heavy"
            r"|won'?t move|can'?t move|cannot move|gave way)\b",
            rf"sudden(?:ly)?\b{_gap(20)}\b(?:weak\w*|numb(?:ness)?|paraly\w*|confus\w*|disorient\w*)",
            r"slurr\w*|garbled|jumbled|aphasi\w*|dysarthri\w*",
            rf"(?:speech|words|talking|speaking)\b{_gap(15)}\b(?:strange|weird|muddled|confused|nonsense"
            r"|not making sense)",
            rf"{_CANT} (?:speak|talk) (?:properly|clearly|normally|right|at all)|{_CANT} (?:get|find) {_P} words",
            r"(?:trouble|difficulty|struggling|problems?) (?:speaking|talking|getting (?:my|his|her|the) words out)",
            r"(?:lost|losing|loss of) (?:all |my |his |her |the |part of (?:my|his|her|the) )?(?:vision|sight)\b",
            rf"sudden(?:ly)?\b{_gap(25)}\b(?:blind\w*|can'?t see|cannot see|double vision)",
            rf"(?:vision|sight|eyesight)\b{_gap(10)}\bsudden(?:ly)?\b",
            r"(?:went|gone|going) blind\b|vision (?:went|goes|going) (?:black|dark)",
            r"(?:having|is|it'?s|it is|think|might be|could be|maybe|like|signs? of) an? "
            r"(?:stroke|mini[- ]stroke|tia)\b",
        ),
        phrases="cara caída|cara torcida|boca torcida|boca caída|debilidad en un lado*|no puedo mover el brazo"
        "|no puede mover el brazo|habla arrastrada|arrastra las palabras|no puede hablar|no puedo hablar"
        "|dificultad para hablar|derrame cerebral|ictus|visage paralysé|bouche de travers|visage qui tombe"
        "|visage affaissé|faiblesse d'un côté|faiblesse dans un bras|bras engourdi|paralysie d'un côté"
        "|difficulté à parler|troubles de la parole|parole confuse|n'arrive pas à parler|ne peut plus parler"
        "|ne peut pas parler|avc|accident vasculaire*|lakwa",
        keywords="中风|中風|脑卒中|腦卒中|口角歪斜|嘴歪|半身不遂|一侧无力|单侧无力|一边手脚无力|手臂无力|说话不清|說話不清"
        "|口齿不清|言语不清|说不出话|說不出話|جلطة دماغية|سكتة دماغية|ارتخاء الوجه|تدلي الوجه|اعوجاج الفم|ميلان الفم"
        "|ضعف في جانب|شلل في جانب|تنميل في جانب|ضعف في الذراع|صعوبة في الكلام|ثقل في اللسان|كلام غير واضح"
        "|لا يستطيع الكلام|लकवा|चेहरा टेढ़ा|चेहरा लटक|मुंह टेढ़ा|मुँह टेढ़ा|एक तरफ कमजोरी|एक तरफ़ कमज़ोरी"
        "|हाथ में कमजोरी|बोलने में दिक्कत|बोलने में तकलीफ|जुबान लड़खड़ा|ज़ुबान लड़खड़ा|बोल नहीं पा|ब्रेन स्ट्रोक",
    ),
    Rule(
        "sudden_headache",
        "Sudden severe (thunderclap) headache",
        "Lie down somewhere quiet, do not drive, and get help straight away even if the pain eases.",
        patterns=(
            r"worst headache\b|thunderclap\b",
            rf"sudden(?:ly)?\b{_gap(25)}\b{_ACHE}\b{_gap(10)}\bheadache",
            rf"{_ACHE}\b{_gap(10)}\bheadache\b{_gap(25)}\b(?:sudden\w*|out of nowhere|out of the blue|in seconds"
            r"|within (?:seconds|a minute)|instantly|like (?:being hit|a thunderclap|a bang|an explosion))",
            rf"headache\b{_gap(20)}\b(?:came on|started|hit|began|struck)\b{_gap(5)}\b(?:sudden\w*|out of nowhere"
            r"|instantly|in seconds|like a thunderclap)",
            r"never (?:had|felt|experienced) (?:a |an )?headache (?:like (?:this|it)|(?:this|so|that) (?:bad|severe"
            r"|painful|intense))",
        ),
    ),
    Rule(
        "anaphylaxis",
        "Possible severe allergic reaction (anaphylaxis)",
        "Use an adrenaline auto-injector (EpiPen) now if there is one, and lie down with your legs raised, or sit up "
        "if breathing is hard.",
        patterns=(
            r"(?:swell\w*|swollen|puff\w*) (?:(?:of|in|up|around|on) )?(?:(?:my|his|her|their|the|your) )?"
            r"(?:lips?|tongue|throat|mouth|airway)\b",
            r"(?:lips?|tongue|throat|mouth|airway) (?:(?:is|are|feels?|feeling|has|have|got|gets?|getting|went"
            r"|started|starting|keeps?|seems?) )*(?:swell\w*|swollen|puff\w*|closing|tight\w*)\b",
            r"(?:having|going into|in|an?|think (?:it'?s|this is|i'?m having)) anaphyla\w*",
            r"anaphylactic (?:shock|reaction)",
            r"(?:used|gave|give|giving|injected|needed|use) (?:(?:my|his|her|their|an|the|a) )?(?:epi-?pen|adrenaline"
            r"|epinephrine|auto-?injector)",
        ),
        all_of=(
            (_TRIGGER, (*_BREATH, r"(?:can'?t|cannot|unable to|trouble|difficulty|hard to) swallow", r"wheez\w*")),
            (_HIVES, _BREATH),
        ),
    ),
    Rule(
        "severe_bleeding",
        "Severe bleeding",
        "If the bleeding is from a wound press firmly on it with a clean cloth and keep pressing; otherwise lie down "
        "and keep still.",
        patterns=(
            rf"bleed\w*\b{_gap(25)}\b{_NEG} (?:stop\w*|slow\w*|ease|let up)",
            rf"(?:{_CANT}|won'?t) (?:stop|control) (?:the |my |his |her |their |this )?bleed\w*",
            r"(?:bleeding|bleeds|bled) (?:heavily|profusely|a lot|badly|everywhere|non-?stop|like crazy)\b"
            + _NOT_PERIOD,
            rf"(?:heavy|massive|severe|uncontrolled|profuse|lots of) bleeding\b{_NOT_PERIOD}",
            r"(?:spurt|gush|pour|squirt|pump)\w* (?:out )?(?:of )?blood\b",
            r"blood (?:is |was |keeps )?(?:spurt\w*|gush\w*|pour\w*|squirt\w*|pump\w*|everywhere)\b",
            r"(?:a lot of|so much|large amount of|pool of|lots of) blood\b"
            r"(?! tests?| work| pressure| sugar| donor| draws?| results?)",
            r"(?:vomit\w*|throw\w* up|threw up|puk\w*|cough\w*|bring\w* up|brought up)(?: (?:up|out|some|a lot of"
            r"|lots of|bright red|fresh|dark|clots of|red))* blood\b",
            r"blood in (?:my |his |her |the )?(?:vomit|sick|sputum|phlegm)\b|bloody (?:vomit|sick|sputum)\b",
            r"coffee[- ]grounds?\b|(?:haema|hema)temesis|(?:haem|hem)optysis|mela?ena\b",
            rf"(?:black|tarry|tar-like|tar like|maroon)\b{_gap(15)}\b(?:stools?|poos?|poop\w*|feces|faeces"
            r"|bowel movements?|motions)\b",
            rf"(?:stools?|poo|poop|feces|faeces)\b{_gap(12)}\b(?:black|tarry|like tar)\b",
            r"toilet (?:bowl )?(?:is |was )?(?:full of|filled with) blood",
        ),
        phrases="sangrado abundante|hemorragia|no para de sangrar|no deja de sangrar|vomitando sangre"
        "|vómito con sangre|tosiendo sangre|heces negras|saigne beaucoup|saignement abondant|hémorragie"
        "|saignement qui ne s'arrête pas|n'arrête pas de saigner|vomit du sang|vomissements de sang|crache du sang"
        "|tousse du sang|selles noires",
        keywords="大出血|出血不止|血流不止|流血不止|止不住血|大量出血|吐血|咳血|呕血|嘔血|黑便|نزيف حاد|نزيف شديد"
        "|نزيف لا يتوقف|نزيف مستمر|تقيؤ دم|استفراغ دم|يتقيأ دم|سعال دم|كحة دم|براز أسود|बहुत खून बह|खून बंद नहीं"
        "|खून नहीं रुक|खून की उल्टी|खून की उलटी|खांसी में खून|खून की खांसी|काला मल|भारी रक्तस्राव|ज्यादा खून",
        all_of=(
            (
                _PREGNANT,
                (
                    rf"(?:heav\w*|lots of|a lot of|soak\w*|gush\w*|clots?)\b{_gap(20)}\b(?:bleed\w*|blood)",
                    rf"bleed\w*\b{_gap(10)}\b(?:heav\w*|a lot)",
                ),
            ),
        ),
    ),
    Rule(
        "seizure",
        "Seizure (first, ongoing or longer than 5 minutes)",
        "Move hard objects away, do not hold them down or put anything in their mouth, and turn them on their side "
        "once the shaking stops.",
        patterns=(
            r"first(?:[- ]ever)? (?:seizure|fit|convulsion)s?\b|never had an? (?:seizure|fit|convulsion) before",
            rf"(?:seizure|fit|convulsion)s?\b{_gap(20)}\bfor the first time\b",
            r"(?:is|he'?s|she'?s|they'?re|still|currently) (?:seizing|convulsing|fitting|having an? (?:seizure|fit"
            r"|convulsion))\b|having an? (?:seizure|fit|convulsion) (?:right )?now\b",
            rf"(?:seiz\w*|fits?|fitting|convuls\w*)\b{_gap(40)}\b(?:{_NUM5}(?:\+| or more)? ?min\w*|won'?t stop"
            r"|isn'?t stopping|not stopping|hasn'?t stopped|keeps? going|non-?stop)",
            rf"(?:more than|over|longer than|for|at least) {_NUM5} ?min\w*\b{_gap(20)}\b(?:seiz\w*|fit|convuls\w*)",
            r"(?:back[- ]to[- ]back|repeated|cluster of|one after (?:another|the other)) (?:seizures|fits|convulsions)",
            r"(?:seizures|fits|convulsions) (?:one after (?:another|the other)|back[- ]to[- ]back)|status epilepticus",
        ),
    ),
    Rule(
        "meningitis",
        "Possible meningitis or sepsis",
        "Do not wait for more symptoms or for a rash to appear; get medical help straight away.",
        patterns=(
            r"non-?blanch\w*|(?:glass|tumbler) test\b",
            rf"(?:rash|spots?|marks?|blotch\w*)\b{_gap(30)}\b(?:doesn'?t|does not|don'?t|do not|didn'?t|did not"
            r"|won'?t|not|isn'?t|aren'?t) (?:fade|blanch|disappear|go away|go white|turn white)",
            rf"(?:think|worried|scared|afraid|suspect|could|might|may|signs? of|symptoms of|has|have)\b{_gap(20)}"
            r"\bmeningitis\b",
        ),
        all_of=((_FEVER, _STIFF_NECK), (_FEVER, _PURPLE_RASH), (_FEVER, _CONFUSED)),
    ),
    Rule(
        "infant_fever",
        "Fever in a baby under 3 months",
        "A baby under 3 months with a fever needs to be seen by a doctor now; do not wait for the fever to settle.",
        all_of=((_INFANT, _FEVER),),
        infant=_FEVER,
    ),
    Rule(
        "suicidal",
        "Suicidal thoughts or self-harm",
        "You are not alone: stay with someone you trust, keep away from anything you could use to hurt yourself, "
        "and talk to someone now.",
        patterns=(
            r"suicid\w*|self[- ]?harm\w*|(?:harm|harming) (?:myself|my ?self)\b",
            r"(?:kill\w*|hang\w*|shoot\w*|drown\w*|poison\w*|off) (?:myself|my ?self)\b",
            r"(?:end|take|ending|taking) (?:my|my own) life\b|end(?:ing)? it all\b",
            r"(?:want(?:s|ed|ing)? to|wanna) die\b",
            r"wish(?:ed)? (?:that )?i(?:'d| was| were| had| could)? (?:be |been )?(?:dead|die|died|never been born"
            r"|not wake up|never wake up|disappear)\b|better off (?:dead|without me)\b",
            r"(?:no reason|nothing|no point) (?:left )?(?:to live|in living|living)\b|nothing to live for\b",
            r"(?:don'?t|do not|no longer|not|never) (?:really )?(?:think i )?want to (?:live|be alive|be here"
            r"|wake up|go on|exist)\b|can'?t go on (?:living|anymore|like this)\b",
            r"(?:want\w*|going|thinking|thoughts?|urges?|tempted|feel like|plan\w*|keep|been) (?:about |of |to )?"
            r"(?:hurt\w*|harm\w*|cut\w*|burn\w*|kill\w*) (?:myself|my ?self|my wrists?)\b",
            r"take all (?:of )?(?:my|the) (?:pills|tablets|meds|medication)",
        ),
        phrases="quiero morir*|matarme|quitarme la vida|no quiero vivir|acabar con mi vida|hacerme daño|autolesi*"
        "|me suicider|envie de me tuer|veux me tuer|vais me tuer|mettre fin à mes jours|en finir|envie de mourir"
        "|veux mourir|ne veux plus vivre|me faire du mal|automutil*|marna chahta|marna chahti|khudkushi|aatmahatya",
        keywords="自杀|自殺|想死|不想活|轻生|輕生|结束生命|结束自己的生命|自残|自殘|割腕|伤害自己|傷害自己|انتحار|انتحر"
        "|أنتحر|أقتل نفسي|اقتل نفسي|أريد أن أموت|اريد ان اموت|أبغى أموت|إنهاء حياتي|انهاء حياتي|إيذاء نفسي|ايذاء نفسي"
        "|أؤذي نفسي|आत्महत्या|खुदकुशी|ख़ुदकुशी|मरना चाहता|मरना चाहती|जीना नहीं चाहता|जीना नहीं चाहती|खुद को मार"
        "|अपनी जान ले|खुद को नुकसान|ख़ुद को नुक़सान",
    ),
    Rule(
        "overdose_poisoning",
        "Overdose or poisoning",
        "Do not make anyone vomit, and keep the packet or bottle with you to show what was taken.",
        patterns=(
            r"overdos\w*|od'd\b|carbon monoxide\b|(?<!food )(?<!food-)poison(?:ed|ing|ous)?\b(?! ivy| oak| sumac)",
            r"(?:took|taken|swallowed) (?:way )?too (?:many|much)\b",
            r"(?:took|taken|swallowed) (?:about |around |over |like )?(?:[1-9][0-9]|twenty|thirty|forty|fifty"
            r"|a hundred) (?:pills|tablets|caps\w*|paracetamol|acetaminophen|tylenol|ibuprofen|aspirin|sleeping)",
            rf"(?:toddler|child|kid|baby|son|daughter|grandson|granddaughter)\b{_gap(25)}\b(?:swallowed|ate|eaten|took"
            rf"|got into|chewed|drank)\b{_gap(25)}\b(?:pills|tablets?|medicines?|medication|capsules)\b",
            r"(?:took|taken|swallowed|ate|eaten|had) (?:a |an |the |his |her |my |their )?(?:whole|entire|full) "
            r"(?:bottle|pack\w*|box|strip|blister|container|jar)",
            rf"(?:swallowed|drank|drunk|ate|eaten|ingested|licked|chewed)\b{_gap(20)}\b(?:bleach|batter(?:y|ies)"
            r"|magnets?|detergent|laundry (?:pod|capsule|tablet)s?|dishwasher (?:pod|tablet)s?|antifreeze|poison"
            r"|chemicals?|cleaning (?:product|fluid|liquid)s?|drain cleaner|weed ?killer|pesticides?|paraffin"
            r"|kerosene|petrol|gasoline|lamp oil|methanol|wild mushrooms?|iron tablets)\b",
        ),
    ),
    Rule(
        "severe_abdominal",
        "Severe abdominal pain (rigid belly or pregnancy)",
        "Do not eat or drink anything and lie still in the most comfortable position until you are seen.",
        patterns=(
            rf"(?:rigid|board[- ]?like|hard as a board|rock[- ]hard)\b{_gap(15)}\b{_BELLY}\b",
            rf"{_BELLY}\b{_gap(15)}\b(?:rigid|hard as a (?:board|rock)|board[- ]?like|rock[- ]hard)",
        ),
        all_of=(
            (
                (rf"{_SEVERE}\b{_gap(25)}\b{_BELLY}", rf"{_BELLY}\w* (?:pain|ache|cramps?)\b{_gap(15)}\b{_SEVERE}"),
                _PREGNANT,
            ),
        ),
    ),
    Rule(  # NICE CG57 / CKS atopic eczema: suspected eczema herpeticum needs treatment and assessment the same day
        "eczema_herpeticum",
        "Blisters on eczema (possible eczema herpeticum, a herpes infection of the skin)",
        "Do not put steroid cream on the blisters, keep the person away from anyone with a cold sore, and get them "
        "seen now: it needs antiviral treatment today.",
        patterns=(r"eczema herpeticum\b", r"kaposi'?s? varicelliform\b"),
        phrases="eccema herpetico|eczema herpetico|eczéma herpétique|pustulose varioliforme",
        keywords="疱疹样湿疹|疱疹性湿疹|卡波西水痘样疹|إكزيما حلئية|الإكزيما الهربسية|एक्ज़िमा हर्पेटिकम",
        all_of=((_ECZEMA, _BLISTERS, _FEVER), (_ECZEMA, _BLISTERS, _EH_SPREAD)),
    ),
)
FLAG_IDS: tuple[str, ...] = tuple(r.id for r in RULES)

# ---- negation and clauses ---------------------------------------------------------------------------------------
_SUBJ = (
    r"(?:i|i'm|im|i've|i'd|i'll|my|me|he|he's|she|she's|it|it's|its|they|they're|we|we're|you|your|his|her|their|our"
    r"|now|then|suddenly|also|there|this|that|the|today|tonight|yesterday|still)"
)
_BOUNDARY_TEXT = (
    rf"[.!?;:\n\r\t()\[\]{{}}|。！？；：，、،؛؟।]|,(?=\s*{_SUBJ}\b)|\b(?:(?:and|or|so|then|plus)\b(?=\s+{_SUBJ}\b)"
    r"|(?:but|however|although|though|except|whereas|because|pero|aunque|sino|mais|sauf|cependant|pourtant)\b)"
)
_BOUNDARY = re.compile(_BOUNDARY_TEXT)
_BOUNDARY_ANY = re.compile(_BOUNDARY_TEXT + r"|但是|可是|不过|不過|لكن|(?<!\S)(?:लेकिन|मगर|और)(?!\S)")
_CUE_TEXT = (
    r"\b(?:no|not|never|without|nor|neither|none|deny|denies|denied|denying|free of|negative for|absence of"
    r"|ruled out|rules out|(?:do|does|did|have|has|had|is|are|was|were)n'?t|sin|nunca|ningun[oa]?|tampoco"
    r"|pas|sans|jamais|aucun|aucune)\b"
)
_CUE = re.compile(_CUE_TEXT)
_CUE_ANY = re.compile(_CUE_TEXT + r"|(?<!\w)(?:لا|ليس|ليست|لست|لم|لن|بدون|دون|مش|مافي|ما)(?!\w)")
_CJK_CUE = re.compile(r"没有|沒有|没|沒|无|無|不|未|否认|否認")
_PSEUDO = re.compile(  # not a negation though it starts with a cue: matched at the cue
    r"(?:not (?:sure|certain|only|just|quite|clear|able to|improving|better|getting better|going away|go away"
    r"|stopping|breathing|waking|responding|moving|making sense)|no (?:idea|doubt|one|body|matter|change|better"
    r"|improvement|relief)|nobody|(?:do|does|did)n'?t (?:know|think|understand|seem)|without (?:any )?(?:warning"
    r"|reason|stopping|a break)|(?<=whether or )not|never (?:\w+ ){0,3}(?:like (?:this|that|it)|this (?:bad|severe"
    r"|painful)|so (?:bad|severe))|no(?= (?:i|i'm|im|it's|its|he|she|my|the|they|we)\b)|no se|no estoy segur[oa]"
    r"|no (?:puedo|puede|para|deja)|pas sure?|(?<=sais )pas|(?<=peux )pas|(?<=peut )pas|(?<=arrive )pas)\b"
    r"|不停|不断|不斷|不止|不知道|不舒服|(?<=受)不了|(?<=忍)不住"
)
_POST_CUE = re.compile(r"\s*(?:\S+\s+){0,2}?(?:नहीं|नही|nahi|nahin|nhi)(?!\S)")
# Curly apostrophes become ' and Latin letters lose their accents (é -> e), one character for one.
_FOLD = {ord(c): "'" for c in "\u2019\u2018\u02bc\u00b4`\u2032\uff07"} | {
    cp: d[0]
    for cp in range(0xC0, 0x250)
    if len(d := unicodedata.normalize("NFD", chr(cp))) > 1
    and d[0].isascii()
    and d[0].isalpha()
    and all(unicodedata.combining(c) for c in d[1:])
}
_RUN = re.compile(r"\s{2,}|[^\S ]")
_WORD_START = re.compile(r"\b\w")
_K = 6  # longest prefix read from a regex


# ---- which words can start a match: read from the regexes themselves, so they never get out of date ------------
class _Unknown(Exception):
    pass


def _chars(items: list) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            out.add(chr(av))
        elif op is _C.RANGE and av[1] - av[0] < 40:
            out.update(map(chr, range(av[0], av[1] + 1)))
        elif op is _C.CATEGORY and av is _C.CATEGORY_SPACE:
            out.add("\t")  # any white space: the prefix ends with it
        else:
            raise _Unknown
    return out


def _ext(ops: list, cur: str, out: set[str], depth: int = 0) -> None:
    """Add to `out` strings that every match of the parsed regex `ops` (after `cur`) starts with: up to _K
    characters, fewer where the next one is open. Raise _Unknown when not even 2 characters are certain."""
    if len(cur) >= _K or cur.endswith("\t"):
        out.add(cur[:_K].replace("\t", " "))
        return
    try:
        if not ops or depth > 80 or len(out) > 3000:
            raise _Unknown
        (op, av), rest = ops[0], ops[1:]
        if op is _C.LITERAL:
            return _ext(rest, cur + chr(av), out, depth + 1)
        if op is _C.IN:
            for c in _chars(av):
                _ext(rest, cur + c, out, depth + 1)
        elif op is _C.BRANCH:
            for alt in av[1]:
                _ext(list(alt) + rest, cur, out, depth + 1)
        elif op is _C.SUBPATTERN:
            _ext(list(av[-1]) + rest, cur, out, depth + 1)
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):  # zero width: skipping them only widens the set
            _ext(rest, cur, out, depth + 1)
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            lo, hi, sub = av
            if lo == 0:
                _ext(rest, cur, out, depth + 1)
            if hi is _C.MAXREPEAT or hi > 0:
                more = [(op, (max(lo - 1, 0), hi if hi is _C.MAXREPEAT else hi - 1, sub))] if hi != 1 else []
                _ext(list(sub) + more + rest, cur, out, depth + 1)
        else:
            raise _Unknown
    except _Unknown:
        if len(cur) < 2:
            raise
        out.add(cur)  # a shorter prefix of the same matches: only widens the set


def _heads(regex: str) -> dict[str, tuple[str, ...]] | None:
    """Prefixes that every match of `regex` starts with, by their first two letters; None: it could be anything."""
    out: set[str] = set()
    if _parser is None:
        return None
    try:
        _ext(list(_parser.parse(regex)), "", out)
    except (_Unknown, RecursionError, re.error, TypeError, ValueError, AttributeError, IndexError):
        return None
    if not all(p[0].isalnum() or p[0] == "_" for p in out):
        return None
    heads: dict[str, set[str]] = defaultdict(set)
    for prefix in out:
        heads[prefix[:2]].add(prefix)
    return {h: tuple(sorted(ps)) for h, ps in heads.items()}


class _Matcher:
    """The regexes of one rule or group. English alternatives are tried only where a word of the text starts with
    one of their prefixes; keywords only when the text is not plain ASCII."""

    def __init__(self, patterns: tuple[str, ...], phrases: str = "", keywords: str = ""):
        alts = [f"(?:{p})" for p in patterns] + [f"(?:{_phrase(p)})\\b" for p in phrases.split("|") if p]
        gated: list[str] = []
        everywhere: list[str] = []
        heads: dict[str, set[str]] = defaultdict(set)
        for alt in alts:
            found = _heads(alt)
            (everywhere if found is None else gated).append(alt)
            for h, ps in (found or {}).items():
                heads[h].update(ps)
        self.heads = {h: tuple(ps) for h, ps in heads.items()}
        self.gated = re.compile(rf"\b(?:{'|'.join(gated)})") if gated else None
        self.everywhere = re.compile(rf"\b(?:{'|'.join(everywhere)})") if everywhere else None
        words = [w for w in keywords.split("|") if w]
        self.keywords = re.compile("|".join(_keyword(k) for k in words)) if words else None


def _phrase(p: str) -> str:
    return "".join(r"\w*" if c == "*" else re.escape(c) for c in p.lower().translate(_FOLD))


def _keyword(k: str) -> str:
    forms = dict.fromkeys([k, *(unicodedata.normalize(f, k) for f in ("NFC", "NFD", "NFKC"))])
    return "|".join(re.escape(f) for f in forms)


class _Text:
    """The capped, normalised message, the negation test and a cache of what was found."""

    def __init__(self, text: str):
        if len(text) > SCAN_LIMIT:
            text = text[: SCAN_LIMIT // 2] + "\n" + text[-(SCAN_LIMIT // 2) :]
        self.raw = text
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two (e.g. 'İ'): keep the offsets aligned
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        low = low.translate(_FOLD)
        # Every run of white space becomes one space ("chest\n  pain" matches "chest pain"); `clauses` is the same
        # text with a new line where a run had one (a clause boundary); `where` maps offsets back to `raw`.
        self.low, self.clauses, self.where = low, low, None
        if _RUN.search(low):
            parts, marks, self.where, last = [], [], [], 0
            for m in _RUN.finditer(low):
                parts.append(low[last : m.start()])
                marks.append("\n" if "\n" in m.group() or "\r" in m.group() else " ")
                self.where.extend(range(last, m.start() + 1))
                last = m.end()
            parts.append(low[last:])
            self.where.extend(range(last, len(low) + 1))
            self.low = " ".join(parts)
            self.clauses = "".join(p + k for p, k in zip(parts, [*marks, ""], strict=True))
        self.ascii = self.low.isascii()
        self.starts: defaultdict[str, list[int]] = defaultdict(list)  # first two letters of each word -> positions
        for p in [m.start() for m in _WORD_START.finditer(self.low)]:
            self.starts[self.low[p : p + 2]].append(p)
        self._negated: dict[tuple[int, int], bool] = {}
        self._cues: dict[int, bool] = {}
        self._found: dict[int, re.Match[str] | None] = {}

    def evidence(self, m: re.Match[str]) -> str:
        start, end = (m.start(), m.end()) if self.where is None else (self.where[m.start()], self.where[m.end()])
        return " ".join(self.raw[start:end].split())[:EVIDENCE_MAX]

    def negated(self, start: int, end: int) -> bool:
        if (start, end) not in self._negated:
            self._negated[start, end] = self._is_negated(start, end)
        return self._negated[start, end]

    def _is_negated(self, start: int, end: int) -> bool:
        """A negation cue among the 7 words before `start` in its clause (or a Hindi one just after `end`)."""
        low, n = self.low, len(self.low)
        seg = low[max(0, start - 80) : start]
        parts = seg.rsplit(None, 7)
        first = start - len(seg)
        if len(parts) == 8:  # the start of the 7th word before the match
            rest = seg[len(parts[0]) :]
            first += len(parts[0]) + len(rest) - len(rest.lstrip())
        boundary, cue_re = (_BOUNDARY, _CUE) if self.ascii else (_BOUNDARY_ANY, _CUE_ANY)
        cues = list(cue_re.finditer(low, first, start))
        if not self.ascii:
            cues += _CJK_CUE.finditer(low, max(first, start - 3), start)
        if cues:
            clause_start = max(
                (m.end() for m in boundary.finditer(self.clauses, min(c.start() for c in cues), start)), default=0
            )
            if any(c.start() >= clause_start and not self._not_a_negation(c.start()) for c in cues):
                return True
        if self.ascii and "nah" not in low[end : end + 40] and "nhi" not in low[end : end + 40]:
            return False
        after = boundary.search(self.clauses, end, min(n, end + 60))
        return _POST_CUE.match(low, end, after.start() if after else min(n, end + 60)) is not None

    def _not_a_negation(self, pos: int) -> bool:
        """The cue at `pos` is part of a phrase such as "not sure", or itself starts a red flag ("no responde",
        "not breathing", "不能呼吸"), so it does not negate what follows."""
        if pos not in self._cues:
            head, low = self.low[pos : pos + 2], self.low
            self._cues[pos] = bool(_PSEUDO.match(low, pos)) or any(
                (m.gated and head in m.heads and low.startswith(m.heads[head], pos) and m.gated.match(low, pos))
                or (m.keywords and not self.ascii and m.keywords.match(low, pos))
                for m in (c.single for c in _COMPILED)
            )
        return self._cues[pos]

    def _matches(self, m: _Matcher) -> Iterator[re.Match[str]]:
        if m.gated is not None:
            low, starts = self.low, self.starts
            hits = {p for h in m.heads.keys() & starts.keys() for p in starts[h] if low.startswith(m.heads[h], p)}
            for pos in sorted(hits):
                if found := m.gated.match(self.low, pos):
                    yield found
        for regex in (m.everywhere, None if self.ascii else m.keywords):
            if regex is not None:
                yield from regex.finditer(self.low)

    def find(self, m: _Matcher | None) -> re.Match[str] | None:
        """The first match that is not negated."""
        if m is None:
            return None
        if id(m) not in self._found:
            ok = (f for f in self._matches(m) if f.end() > f.start() and not self.negated(f.start(), f.end()))
            self._found[id(m)] = next(ok, None)
        return self._found[id(m)]


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    single: _Matcher
    combos: tuple[tuple[_Matcher, ...], ...]
    infant: _Matcher | None

    def detect(self, t: _Text, infant: bool) -> str | None:
        if m := t.find(self.single) or (t.find(self.infant) if infant else None):
            return t.evidence(m)
        for combo in self.combos:
            found = []
            for group in combo:
                if not (m := t.find(group)):
                    break
                found.append(t.evidence(m))
            else:
                return " + ".join(found)[:EVIDENCE_MAX]
        return None


_GROUPS: dict[tuple[str, ...], _Matcher] = {}


def _group(patterns: tuple[str, ...]) -> _Matcher:
    """One matcher per distinct group: the fever group serves four combinations and is searched once."""
    if patterns not in _GROUPS:
        _GROUPS[patterns] = _Matcher(patterns)
    return _GROUPS[patterns]


_COMPILED = tuple(
    _Compiled(
        r,
        _Matcher(r.patterns, r.phrases, r.keywords),
        tuple(tuple(_group(g) for g in c) for c in r.all_of),
        _group(r.infant) if r.infant else None,
    )
    for r in RULES
)


def _as_text(text: object) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray):
        return bytes(text).decode("utf-8", errors="replace")
    return "" if text is None else str(text)


def _is_infant(age_years: object) -> bool:
    try:
        age = float(age_years)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(age) and 0 <= age < INFANT_AGE_YEARS


def screen(text: str, age_years: float | None = None) -> list[RedFlag]:
    """Red flags in one patient message: unique by id, in the order of `RULES`. Never raises on any text."""
    t = _Text(_as_text(text))
    infant = _is_infant(age_years)
    flags = []
    for c in _COMPILED:
        if (evidence := c.detect(t, infant)) is not None:
            flags.append(RedFlag(id=c.rule.id, label=c.rule.label, evidence=evidence, advice=c.rule.advice))
    return flags


def emergency_message(flags: list[RedFlag], emergency_number: str) -> str:
    """What to tell the patient: call the number first, then why, then what to do while waiting."""
    number = " ".join(str(emergency_number or "").split()) or "your local emergency number"
    text = f"Call {number} now, or ask someone near you to call for you."
    first = {f.id: f for f in reversed(flags)}
    ids = list(dict.fromkeys(f.id for f in flags))
    if not ids:
        return text
    reasons = "; ".join(first[i].label[:1].lower() + first[i].label[1:] for i in ids)
    advice = " ".join(first[i].advice for i in ids)
    return (
        f"{text} This needs emergency care because your message mentions: {reasons}. "
        f"While you wait: {advice} Do not wait to see if it gets better."
    )
