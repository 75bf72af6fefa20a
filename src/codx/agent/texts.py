"""Everything the agent says, as named templates in the six consultation languages (written for codx).

Patient-facing text is localised; doctor mode stays in English with ids. A missing key falls back to
English, so a new language can start small.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "urgency": {
            "emergency": "Urgency: emergency. Call {number} or go to an emergency department now.",
            "urgent": "Urgency: see a doctor today (within 24 hours).",
            "routine": "Urgency: book an appointment with your doctor.",
            "self_care": "Urgency: this can usually be looked after at home; ask a pharmacist,"
            " and see a doctor if it gets worse or does not improve.",
        },
        "why": "Why",
        "disclaimer": "codx is not a medical device and does not replace a doctor.",
        "greeting": "What brings you here today? Describe your symptoms.",
        "question": "Do you have {label}?",
        "options": ["yes", "no", "not sure"],
        "nothing_understood": "I could not match that to a symptom I know. Please describe one symptom in a few "
        "words (for example: fever, cough, headache).",
        "too_long": "Your message was long; I read the first {n} characters.",
        "empty": "Your message was empty. Please describe what you feel.",
        "heard": "I heard: “{text}”",
        "voice_failed": "I could not use the recording: {error} Please try again or type your answer.",
        "voice_unavailable": "Voice input is not available here; please type your answer.",
        "told": "What you told me",
        "nothing_yet": "nothing specific yet",
        "not_present": "Not present",
        "possible": "Possible conditions (probability)",
        "next_diagnose": "These are possibilities, not a diagnosis. Please book an appointment with your doctor and "
        "show them this summary; they can examine you and order the tests that confirm or rule these out.",
        "next_undetermined": "I could not narrow this down enough. Please see your doctor and show them this "
        "summary of your symptoms.",
        "emergency": "Call {number} now, or ask someone near you to call for you.",
    },
    "es": {
        "urgency": {
            "emergency": "Urgencia: emergencia. Llame al {number} o acuda a urgencias ahora.",
            "urgent": "Urgencia: vea a un médico hoy (en 24 horas).",
            "routine": "Urgencia: pida cita con su médico.",
            "self_care": "Urgencia: normalmente se puede cuidar en casa; consulte a un"
            " farmacéutico y vea a un médico si empeora o no mejora.",
        },
        "why": "Motivo",
        "disclaimer": "codx no es un dispositivo médico y no sustituye a un médico.",
        "greeting": "¿Qué le trae hoy? Describa sus síntomas.",
        "question": "¿Tiene {label}?",
        "options": ["sí", "no", "no sé"],
        "nothing_understood": "No pude relacionar eso con un síntoma que conozca. Describa un síntoma en pocas "
        "palabras (por ejemplo: fiebre, tos, dolor de cabeza).",
        "too_long": "Su mensaje era largo; he leído los primeros {n} caracteres.",
        "empty": "Su mensaje estaba vacío. Describa lo que siente.",
        "heard": "He entendido: «{text}»",
        "voice_failed": "No pude usar la grabación: {error} Inténtelo de nuevo o escriba su respuesta.",
        "voice_unavailable": "La entrada de voz no está disponible aquí; escriba su respuesta.",
        "told": "Lo que me ha contado",
        "nothing_yet": "nada concreto todavía",
        "not_present": "No presente",
        "possible": "Posibles afecciones (probabilidad)",
        "next_diagnose": "Son posibilidades, no un diagnóstico. Pida cita con su médico y muéstrele este resumen; "
        "podrá examinarle y pedir las pruebas que las confirmen o descarten.",
        "next_undetermined": "No he podido concretar lo suficiente. Consulte a su médico y muéstrele este resumen "
        "de sus síntomas.",
        "emergency": "Llame ahora al {number}, o pida a alguien cercano que llame por usted.",
    },
    "fr": {
        "urgency": {
            "emergency": "Urgence : urgence vitale. Appelez le {number} ou allez aux urgences maintenant.",
            "urgent": "Urgence : consultez un médecin aujourd'hui (sous 24 heures).",
            "routine": "Urgence : prenez rendez-vous avec votre médecin.",
            "self_care": "Urgence : cela se soigne en général à la maison ; demandez conseil à un"
            " pharmacien et consultez si cela s'aggrave ou ne s'améliore pas.",
        },
        "why": "Raison",
        "disclaimer": "codx n'est pas un dispositif médical et ne remplace pas un médecin.",
        "greeting": "Qu'est-ce qui vous amène aujourd'hui ? Décrivez vos symptômes.",
        "question": "Avez-vous : {label} ?",
        "options": ["oui", "non", "je ne sais pas"],
        "nothing_understood": "Je n'ai pas reconnu de symptôme. Décrivez un symptôme en quelques mots "
        "(par exemple : fièvre, toux, mal de tête).",
        "too_long": "Votre message était long ; j'ai lu les {n} premiers caractères.",
        "empty": "Votre message était vide. Décrivez ce que vous ressentez.",
        "heard": "J'ai entendu : « {text} »",
        "voice_failed": "Je n'ai pas pu utiliser l'enregistrement : {error} Réessayez ou écrivez votre réponse.",
        "voice_unavailable": "La saisie vocale n'est pas disponible ici ; écrivez votre réponse.",
        "told": "Ce que vous m'avez dit",
        "nothing_yet": "rien de précis pour l'instant",
        "not_present": "Absent",
        "possible": "Affections possibles (probabilité)",
        "next_diagnose": "Ce sont des possibilités, pas un diagnostic. Prenez rendez-vous avec votre médecin et "
        "montrez-lui ce résumé ; il pourra vous examiner et prescrire les examens qui les confirment ou les "
        "écartent.",
        "next_undetermined": "Je n'ai pas pu préciser suffisamment. Consultez votre médecin et montrez-lui ce "
        "résumé de vos symptômes.",
        "emergency": "Appelez le {number} maintenant, ou demandez à quelqu'un près de vous d'appeler.",
    },
    "zh": {
        "urgency": {
            "emergency": "紧急程度：急症。请立即拨打 {number} 或前往急诊。",
            "urgent": "紧急程度：请今天（24小时内）就医。",
            "routine": "紧急程度：请预约您的医生。",
            "self_care": "紧急程度：通常可以在家护理；可咨询药剂师，如加重或不见好转请就医。",
        },
        "why": "原因",
        "disclaimer": "codx 不是医疗器械，不能代替医生。",
        "greeting": "今天哪里不舒服？请描述您的症状。",
        "question": "您有{label}吗？",
        "options": ["有", "没有", "不确定"],
        "nothing_understood": "我没能识别出症状。请用几个词描述一个症状（例如：发烧、咳嗽、头痛）。",
        "too_long": "您的消息很长；我只读取了前 {n} 个字符。",
        "empty": "您的消息是空的。请描述您的感受。",
        "heard": "我听到的是：“{text}”",
        "voice_failed": "无法使用这段录音：{error} 请重试或输入您的回答。",
        "voice_unavailable": "此处无法使用语音输入，请输入您的回答。",
        "told": "您告诉我的情况",
        "nothing_yet": "暂无具体症状",
        "not_present": "没有的症状",
        "possible": "可能的疾病（概率）",
        "next_diagnose": "以上只是可能性，不是诊断。请预约医生并出示这份总结；"
        "医生可以为您检查并安排确认或排除这些疾病的检查。",
        "next_undetermined": "我无法进一步缩小范围。请去看医生，并出示这份症状总结。",
        "emergency": "请立即拨打 {number}，或请身边的人帮您拨打。",
    },
    "ar": {
        "urgency": {
            "emergency": "درجة الاستعجال: طارئة. اتصل بالرقم {number} أو توجه إلى قسم الطوارئ الآن.",
            "urgent": "درجة الاستعجال: راجع طبيبًا اليوم (خلال 24 ساعة).",
            "routine": "درجة الاستعجال: احجز موعدًا مع طبيبك.",
            "self_care": "درجة الاستعجال: يمكن عادةً العناية بها في المنزل؛ استشر"
            " الصيدلي وراجع الطبيب إذا ساءت الحالة أو لم تتحسن.",
        },
        "why": "السبب",
        "disclaimer": "codx ليس جهازًا طبيًا ولا يغني عن الطبيب.",
        "greeting": "ما الذي أتى بك اليوم؟ صف أعراضك.",
        "question": "هل لديك {label}؟",
        "options": ["نعم", "لا", "لست متأكدًا"],
        "nothing_understood": "لم أتمكن من التعرف على عرض أعرفه. صف عرضًا واحدًا بكلمات قليلة (مثل: حمى، سعال، صداع).",
        "too_long": "رسالتك طويلة؛ قرأت أول {n} حرفًا.",
        "empty": "رسالتك فارغة. صف ما تشعر به.",
        "heard": "سمعت: «{text}»",
        "voice_failed": "تعذر استخدام التسجيل: {error} حاول مرة أخرى أو اكتب إجابتك.",
        "voice_unavailable": "الإدخال الصوتي غير متاح هنا؛ يرجى كتابة إجابتك.",
        "told": "ما أخبرتني به",
        "nothing_yet": "لا شيء محدد بعد",
        "not_present": "غير موجود",
        "possible": "الحالات المحتملة (الاحتمال)",
        "next_diagnose": "هذه احتمالات وليست تشخيصًا. احجز موعدًا مع طبيبك وأطلعه على هذا الملخص؛ يمكنه فحصك "
        "وطلب الفحوص التي تؤكدها أو تستبعدها.",
        "next_undetermined": "لم أتمكن من تضييق الاحتمالات بما يكفي. راجع طبيبك وأطلعه على ملخص أعراضك هذا.",
        "emergency": "اتصل بالرقم {number} الآن، أو اطلب من شخص قريب منك أن يتصل نيابة عنك.",
    },
    "hi": {
        "urgency": {
            "emergency": "तात्कालिकता: आपातकाल। अभी {number} पर कॉल करें या आपातकालीन विभाग जाएँ।",
            "urgent": "तात्कालिकता: आज ही (24 घंटे के भीतर) डॉक्टर को दिखाएँ।",
            "routine": "तात्कालिकता: अपने डॉक्टर से समय लें।",
            "self_care": "तात्कालिकता: आमतौर पर घर पर देखभाल हो सकती है; फार्मासिस्ट से"
            " पूछें और बिगड़ने या ठीक न होने पर डॉक्टर को दिखाएँ।",
        },
        "why": "कारण",
        "disclaimer": "codx कोई चिकित्सा उपकरण नहीं है और डॉक्टर की जगह नहीं ले सकता।",
        "greeting": "आज आपको क्या परेशानी है? अपने लक्षण बताइए।",
        "question": "क्या आपको {label} है?",
        "options": ["हाँ", "नहीं", "पता नहीं"],
        "nothing_understood": "मैं इसे किसी जाने-पहचाने लक्षण से नहीं मिला सका। कृपया एक लक्षण कुछ शब्दों में बताइए "
        "(जैसे: बुखार, खांसी, सिरदर्द)।",
        "too_long": "आपका संदेश लंबा था; मैंने पहले {n} अक्षर पढ़े।",
        "empty": "आपका संदेश खाली था। कृपया बताइए कि आप कैसा महसूस कर रहे हैं।",
        "heard": "मैंने सुना: “{text}”",
        "voice_failed": "रिकॉर्डिंग का उपयोग नहीं हो सका: {error} फिर से प्रयास करें या अपना उत्तर लिखें।",
        "voice_unavailable": "यहाँ आवाज़ से उत्तर उपलब्ध नहीं है; कृपया अपना उत्तर लिखें।",
        "told": "आपने मुझे बताया",
        "nothing_yet": "अभी कुछ विशेष नहीं",
        "not_present": "नहीं है",
        "possible": "संभावित बीमारियाँ (संभावना)",
        "next_diagnose": "ये केवल संभावनाएँ हैं, निदान नहीं। कृपया अपने डॉक्टर से मिलें और यह सारांश दिखाएँ; वे आपकी "
        "जाँच करके इनकी पुष्टि या खंडन करने वाले टेस्ट करवा सकते हैं।",
        "next_undetermined": "मैं संभावनाओं को पर्याप्त रूप से सीमित नहीं कर सका। कृपया डॉक्टर से मिलें और उन्हें अपने "
        "लक्षणों का यह सारांश दिखाएँ।",
        "emergency": "अभी {number} पर कॉल करें, या पास के किसी व्यक्ति से कॉल करवाएँ।",
    },
}

DOCTOR_QUESTION = "{label} ({id})? [expected gain {gain:.2f} bits]"


def t(language: str | None, key: str, **kwargs: Any) -> Any:
    """The template in the given language (English when missing), formatted with kwargs if it is a string."""
    value = TEXTS.get(language or "en", {}).get(key, TEXTS["en"][key])
    return value.format(**kwargs) if isinstance(value, str) and kwargs else value


def question_text(mode: str, language: str | None, label: str, finding_id: str, gain: float) -> str:
    if mode == "doctor":
        return DOCTOR_QUESTION.format(label=label, id=finding_id, gain=gain)
    return t(language, "question", label=label)
