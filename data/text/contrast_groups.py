"""Explicit hate against protected groups, and the same groups named in clean sentences, in 11 languages.

Read by build_contrast.py. Why: the hate head's sources are mostly tweets and forum posts whose hate is
coded, contextual or mixed with slurs; plain statements of contempt, dehumanisation or violence against a
group ("<group> are cockroaches", "death to <group>") are rare in them and rarer outside English, and a
candidate fitted on a sample of them flagged 1 of the 25 group-hate probes (tests/fixtures/text_group_probes.jsonl).

Each language has the same ten groups (religion, origin and migration, gender, sexual orientation, gender
identity, skin colour, disability, an ethnic minority) in two grammatical forms: `nom` as the subject, `obl` as
an object or after a preposition (Polish genitive, Arabic and Hindi oblique; the same word elsewhere). Every
group appears in as many clean sentences as hateful ones, built from frames of the same length and register:
respect, negated hate ("I don't hate..."), news about attacks on the group, counter-speech quoting a hateful
phrase, questions and plain facts. So the group word is never a signal; what is said of it is.

Frames are written per language (not translated word for word), with no article or case ending left to chance:
a frame uses `{g}` (nom) or `{o}` (obl) only where the form fits every group. None is a probe sentence or a
near-copy of one (tests/test_text_nearcopy.py checks it).
"""

# lang -> (nom, obl) per group, in the same order in every language.
GROUPS = {
    "en": [("Muslims", "Muslims"), ("Jews", "Jews"), ("immigrants", "immigrants"), ("refugees", "refugees"),
           ("women", "women"), ("gay people", "gay people"), ("trans people", "trans people"),
           ("Black people", "Black people"), ("disabled people", "disabled people"), ("Roma", "Roma")],
    "de": [("Muslime", "Muslime"), ("Juden", "Juden"), ("Einwanderer", "Einwanderer"), ("Flüchtlinge", "Flüchtlinge"),
           ("Frauen", "Frauen"), ("Schwule", "Schwule"), ("trans Menschen", "trans Menschen"),
           ("schwarze Menschen", "schwarze Menschen"), ("behinderte Menschen", "behinderte Menschen"), ("Roma", "Roma")],
    "fr": [("les musulmans", "les musulmans"), ("les juifs", "les juifs"), ("les immigrés", "les immigrés"),
           ("les réfugiés", "les réfugiés"), ("les femmes", "les femmes"), ("les homosexuels", "les homosexuels"),
           ("les personnes trans", "les personnes trans"), ("les Noirs", "les Noirs"),
           ("les personnes handicapées", "les personnes handicapées"), ("les Roms", "les Roms")],
    "es": [("los musulmanes", "los musulmanes"), ("los judíos", "los judíos"), ("los inmigrantes", "los inmigrantes"),
           ("los refugiados", "los refugiados"), ("las mujeres", "las mujeres"), ("los gays", "los gays"),
           ("las personas trans", "las personas trans"), ("los negros", "los negros"),
           ("las personas con discapacidad", "las personas con discapacidad"), ("los gitanos", "los gitanos")],
    "pt": [("os muçulmanos", "os muçulmanos"), ("os judeus", "os judeus"), ("os imigrantes", "os imigrantes"),
           ("os refugiados", "os refugiados"), ("as mulheres", "as mulheres"), ("os gays", "os gays"),
           ("as pessoas trans", "as pessoas trans"), ("os negros", "os negros"),
           ("as pessoas com deficiência", "as pessoas com deficiência"), ("os ciganos", "os ciganos")],
    "it": [("i musulmani", "i musulmani"), ("gli ebrei", "gli ebrei"), ("gli immigrati", "gli immigrati"),
           ("i rifugiati", "i rifugiati"), ("le donne", "le donne"), ("i gay", "i gay"),
           ("le persone trans", "le persone trans"), ("i neri", "i neri"), ("i disabili", "i disabili"),
           ("i rom", "i rom")],
    "nl": [("moslims", "moslims"), ("joden", "joden"), ("immigranten", "immigranten"), ("vluchtelingen", "vluchtelingen"),
           ("vrouwen", "vrouwen"), ("homo's", "homo's"), ("transgenders", "transgenders"),
           ("zwarte mensen", "zwarte mensen"), ("gehandicapten", "gehandicapten"), ("Roma", "Roma")],
    "pl": [("muzułmanie", "muzułmanów"), ("Żydzi", "Żydów"), ("imigranci", "imigrantów"), ("uchodźcy", "uchodźców"),
           ("kobiety", "kobiet"), ("geje", "gejów"), ("osoby trans", "osób trans"), ("czarni", "czarnych"),
           ("niepełnosprawni", "niepełnosprawnych"), ("Romowie", "Romów")],
    "ar": [("المسلمون", "المسلمين"), ("اليهود", "اليهود"), ("المهاجرون", "المهاجرين"), ("اللاجئون", "اللاجئين"),
           ("النساء", "النساء"), ("المثليون", "المثليين"), ("العابرون جنسيا", "العابرين جنسيا"), ("السود", "السود"),
           ("ذوو الإعاقة", "ذوي الإعاقة"), ("الغجر", "الغجر")],
    "zh": [("穆斯林", "穆斯林"), ("犹太人", "犹太人"), ("移民", "移民"), ("难民", "难民"), ("女人", "女人"),
           ("同性恋", "同性恋"), ("跨性别者", "跨性别者"), ("黑人", "黑人"), ("残疾人", "残疾人"), ("吉普赛人", "吉普赛人")],
    "hi": [("मुसलमान", "मुसलमानों"), ("यहूदी", "यहूदियों"), ("प्रवासी", "प्रवासियों"), ("शरणार्थी", "शरणार्थियों"),
           ("औरतें", "औरतों"), ("समलैंगिक", "समलैंगिकों"), ("ट्रांस लोग", "ट्रांस लोगों"), ("काले लोग", "काले लोगों"),
           ("विकलांग", "विकलांगों"), ("रोमा लोग", "रोमा लोगों")],
}

# Hateful frames: contempt, dehumanisation, exclusion, calls for violence. The violent ones (also `violence`)
# are listed apart.
HATEFUL = {
    "en": ["{G} are filthy rats.", "I despise {o}, all of them without exception.", "{G} are inferior and always will be.",
           "{G} are cockroaches and should be treated as such.", "There is nothing lower than {o}.",
           "{G} are too stupid to think for themselves.", "No {o} should be allowed in our neighbourhood."],
    "de": ["{G} sind dreckige Ratten.", "Ich verachte {o}, jeden einzelnen von ihnen.", "{G} sind minderwertig und bleiben es.",
           "{G} sind Kakerlaken und gehören auch so behandelt.", "Es gibt nichts Niedrigeres als {o}.",
           "{G} sind zu dumm, um selbst zu denken.", "{G} haben in unserem Viertel nichts verloren."],
    "fr": ["{G} sont des rats immondes.", "Je méprise {o}, tous sans exception.", "{G} sont inférieurs, point final.",
           "{G} sont des cafards et il faut les traiter comme tels.", "Il n'y a rien de plus bas que {o}.",
           "{G} sont trop bêtes pour penser par eux-mêmes.", "On ne veut pas voir {o} dans notre quartier."],
    "es": ["{G} son ratas asquerosas.", "Desprecio a {o}, a todos sin excepción.", "{G} son inferiores y siempre lo serán.",
           "{G} son cucarachas y hay que tratarlos como tales.", "No hay nada más bajo que {o}.",
           "{G} son demasiado tontos para pensar por sí mismos.", "No queremos a {o} en nuestro barrio."],
    "pt": ["{G} são ratos imundos.", "Desprezo {o}, todos sem exceção.", "{G} são inferiores e sempre serão.",
           "{G} são baratas e devem ser tratados como tal.", "Não existe nada mais baixo que {o}.",
           "{G} são burros demais para pensar sozinhos.", "Não queremos {o} no nosso bairro."],
    "it": ["{G} sono topi schifosi.", "Disprezzo {o}, tutti quanti.", "{G} sono inferiori e lo saranno sempre.",
           "{G} sono scarafaggi e vanno trattati come tali.", "Non c'è niente di più basso che {o}.",
           "{G} sono troppo stupidi per pensare da soli.", "Non vogliamo {o} nel nostro quartiere."],
    "nl": ["{G} zijn smerige ratten.", "Ik veracht {o}, stuk voor stuk.", "{G} zijn minderwaardig en dat blijven ze.",
           "{G} zijn kakkerlakken en zo moet je ze ook behandelen.", "Er is niets lagers dan {o}.",
           "{G} zijn te dom om zelf na te denken.", "{G} horen niet thuis in onze buurt."],
    "pl": ["{G} to obrzydliwe szczury.", "Nienawidzę {o}, wszystkich co do jednego.",
           "{G} to gorszy gatunek i zawsze nim będą.", "{G} to karaluchy i tak trzeba ich traktować.",
           "Nie ma nic podlejszego od {o}.", "{G} są za głupi, żeby myśleć samodzielnie.",
           "Nie chcemy {o} w naszej okolicy."],
    "ar": ["{G} فئران قذرة.", "أحتقر {o} جميعا بلا استثناء.", "{G} أدنى منزلة وسيبقون كذلك.",
           "{G} صراصير ويجب معاملتهم على هذا الأساس.", "لا يوجد أحقر من {o}.",
           "{G} أغبياء لا يستطيعون التفكير بأنفسهم.", "لا نريد {o} في حيّنا."],
    "zh": ["{G}都是肮脏的老鼠。", "我鄙视{o}，一个不剩。", "{G}天生低人一等，永远都是。", "{G}就是蟑螂，就该这样对待他们。",
           "没有比{o}更下贱的东西了。", "{G}太蠢了，根本不会自己思考。", "我们小区不许{o}住进来。"],
    "hi": ["{G} नाली के कीड़े हैं।", "मुझे {o} से घिन आती है, हर एक से।", "{G} नीच हैं और हमेशा रहेंगे।",
           "{G} कॉकरोच हैं और उनके साथ वैसा ही सलूक होना चाहिए।", "{o} से गिरा हुआ कोई नहीं है।",
           "{G} इतने मूर्ख हैं कि खुद सोच भी नहीं सकते।", "हमारे मोहल्ले में {o} की कोई जगह नहीं है।"],
}

VIOLENT = {
    "en": ["Death to {o}.", "We should beat {o} until they leave for good.", "All {o} deserve to suffer and die."],
    "de": ["{G} raus, sonst prügeln wir sie raus.", "Man sollte {o} verprügeln, bis sie für immer verschwinden.",
           "{G} verdienen es zu leiden und zu sterben."],
    "fr": ["Mort à eux, {o} doivent crever.", "Il faut tabasser {o} jusqu'à ce qu'ils partent pour de bon.",
           "{G} méritent de souffrir et de mourir."],
    "es": ["Muerte a {o}.", "Hay que darles una paliza a {o} hasta que se vayan para siempre.",
           "{G} merecen sufrir y morir."],
    "pt": ["Morte a eles, {o} têm que morrer.", "Devíamos espancar {o} até irem embora de vez.",
           "{G} merecem sofrer e morrer."],
    "it": ["Morte a tutti loro, {o} devono crepare.", "Bisogna pestare {o} finché non se ne vanno per sempre.",
           "{G} meritano di soffrire e morire."],
    "nl": ["Dood aan {o}.", "We moeten {o} in elkaar slaan tot ze voorgoed vertrekken.", "{G} verdienen het om te lijden en te sterven."],
    "pl": ["{G} muszą zdechnąć.", "Trzeba spuścić łomot każdemu z {o}, aż wyniosą się na zawsze.", "{G} zasługują na cierpienie i śmierć."],
    "ar": ["الموت لكل {o}.", "يجب أن نضرب {o} حتى يرحلوا إلى الأبد.", "{G} يستحقون العذاب والموت."],
    "zh": ["{o}去死吧。", "应该把{o}打到他们永远滚蛋为止。", "{G}活该受苦，活该去死。"],
    "hi": ["{o} को मौत दो।", "{o} को तब तक पीटो जब तक वे हमेशा के लिए चले न जाएँ।", "{G} तड़प-तड़प कर मरने के लायक हैं।"],
}

# Clean frames naming the same groups: respect, negated hate, news, counter-speech, questions, facts.
CLEAN = {
    "en": ["{G} are welcome in our town.", "I don't hate {o}, and nobody should.",
           "Many {o} live in this city and work in every profession.", "The report documents rising attacks against {o}.",
           "Calling {o} rats is hateful, full stop.", "I want to learn more about the history of {o} in this country.",
           "Some of my closest friends are {o}.", "{G} deserve the same rights as everyone else.",
           "The panel invited {o} to speak about their own experiences.", "Are {o} protected by the new anti-discrimination law?"],
    "de": ["{G} sind in unserer Stadt willkommen.", "Ich hasse {o} nicht, und niemand sollte das tun.",
           "Viele {o} leben in dieser Stadt und arbeiten in allen Berufen.", "Der Bericht dokumentiert zunehmende Angriffe gegen {o}.",
           "{o} als Ratten zu bezeichnen ist Hetze, Punkt.", "Ich möchte mehr über die Geschichte der Gemeinschaft erfahren: {G} leben seit Jahrhunderten hier.",
           "Einige meiner engsten Freunde sind {o}.", "{G} verdienen dieselben Rechte wie alle anderen.",
           "Das Podium hat {o} eingeladen, über ihre eigenen Erfahrungen zu sprechen.", "Schützt das neue Antidiskriminierungsgesetz auch {o}?"],
    "fr": ["{G} sont les bienvenus dans notre ville.", "Je ne déteste pas {o}, et personne ne devrait.",
           "Beaucoup de gens ici, et parmi eux {o}, travaillent dans tous les métiers.", "Le rapport recense une hausse des agressions contre {o}.",
           "Traiter {o} de rats, c'est de la haine, point.", "J'aimerais en savoir plus sur l'histoire que {o} ont vécue dans ce pays.",
           "Certains de mes amis les plus proches sont concernés : {o} font partie de ma vie.", "{G} méritent les mêmes droits que tout le monde.",
           "Le débat a invité {o} à parler de leur propre expérience.", "Est-ce que la nouvelle loi contre les discriminations protège {o} ?"],
    "es": ["{G} son bienvenidos en nuestro pueblo.", "No odio a {o}, y nadie debería hacerlo.",
           "Muchos de nuestros vecinos son {o} y trabajan en todo tipo de oficios.", "El informe documenta un aumento de las agresiones contra {o}.",
           "Llamar ratas a {o} es odio, sin más.", "Quiero aprender más sobre la historia de {o} en este país.",
           "Algunos de mis mejores amigos son {o}.", "{G} merecen los mismos derechos que todos.",
           "La mesa redonda invitó a {o} a hablar de sus propias experiencias.", "¿La nueva ley contra la discriminación protege a {o}?"],
    "pt": ["{G} são bem-vindos na nossa cidade.", "Não odeio {o}, e ninguém deveria.",
           "Muitos vizinhos nossos são {o} e trabalham em todas as profissões.", "O relatório documenta o aumento das agressões contra {o}.",
           "Chamar {o} de ratos é ódio, ponto final.", "Quero aprender mais sobre a história que {o} viveram neste país.",
           "Alguns dos meus melhores amigos são {o}.", "{G} merecem os mesmos direitos que todo mundo.",
           "O debate convidou {o} para falar das próprias experiências.", "A nova lei contra a discriminação protege {o}?"],
    "it": ["{G} sono i benvenuti nella nostra città.", "Non odio {o}, e nessuno dovrebbe farlo.",
           "Molti nostri vicini sono {o} e lavorano in ogni professione.", "Il rapporto documenta un aumento delle aggressioni contro {o}.",
           "Chiamare topi {o} è odio, punto.", "Vorrei sapere di più sulla storia che {o} hanno vissuto in questo paese.",
           "Alcuni dei miei amici più cari sono {o}.", "{G} meritano gli stessi diritti di tutti.",
           "Il convegno ha invitato {o} a raccontare le proprie esperienze.", "La nuova legge contro le discriminazioni protegge anche {o}?"],
    "nl": ["{G} zijn welkom in onze stad.", "Ik haat {o} niet, en niemand zou dat moeten doen.",
           "Veel {o} wonen in deze stad en werken in elk beroep.", "Het rapport beschrijft een toename van aanvallen op {o}.",
           "{o} ratten noemen is haat, punt.", "Ik wil meer leren over de geschiedenis van {o} in dit land.",
           "Een paar van mijn beste vrienden zijn {o}.", "{G} verdienen dezelfde rechten als iedereen.",
           "Het panel nodigde {o} uit om over hun eigen ervaringen te vertellen.", "Beschermt de nieuwe antidiscriminatiewet ook {o}?"],
    "pl": ["{G} są mile widziani w naszym mieście.", "Nie nienawidzę {o} i nikt nie powinien.",
           "Wśród naszych sąsiadów nie brakuje {o}, pracują w każdym zawodzie.", "Raport opisuje coraz więcej ataków wymierzonych w społeczność {o}.",
           "Nazywanie {o} szczurami to nienawiść, kropka.", "Chcę dowiedzieć się więcej o historii {o} w tym kraju.",
           "Kilkoro moich najbliższych przyjaciół to {g}.", "{G} zasługują na te same prawa co wszyscy.",
           "Na panelu głos zabrało kilkoro {o}, opowiadając o własnych doświadczeniach.", "Czy nowa ustawa antydyskryminacyjna chroni prawa {o}?"],
    "ar": ["{G} مرحب بهم في مدينتنا.", "أنا لا أكره {o}، ولا ينبغي لأحد أن يكرههم.",
           "يعيش كثير من {o} في هذه المدينة ويعملون في كل المهن.", "يوثق التقرير تزايد الاعتداءات على {o}.",
           "وصف {o} بالفئران كراهية، نقطة.", "أريد أن أعرف المزيد عن تاريخ {o} في هذا البلد.",
           "بعض أقرب أصدقائي من {o}.", "{G} يستحقون الحقوق نفسها مثل الجميع.",
           "دعت الندوة {o} للحديث عن تجاربهم الخاصة.", "هل يحمي قانون مكافحة التمييز الجديد {o}؟"],
    "zh": ["我们城市欢迎{o}。", "我不恨{o}，任何人都不应该恨他们。", "很多{o}住在这座城市，从事各行各业。",
           "报告记录了针对{o}的袭击在增加。", "把{o}叫作老鼠就是仇恨，没什么可说的。", "我想多了解{o}在这个国家的历史。",
           "我最好的几个朋友就是{o}。", "{G}应该和所有人享有同样的权利。", "座谈会邀请{o}讲述他们自己的经历。",
           "新的反歧视法保护{o}吗？"],
    "hi": ["हमारे शहर में {o} का स्वागत है।", "मैं {o} से नफ़रत नहीं करता, और किसी को नहीं करनी चाहिए।",
           "बहुत से {G} इस शहर में रहते हैं और हर पेशे में काम करते हैं।", "रिपोर्ट में {o} पर बढ़ते हमलों का ज़िक्र है।",
           "{o} को चूहे कहना नफ़रत है, बस।", "मैं इस देश में {o} के इतिहास के बारे में और जानना चाहता हूँ।",
           "मेरे कुछ सबसे करीबी दोस्त {G} हैं।", "{o} को भी बाकी सबके जैसे अधिकार मिलने चाहिए।",
           "सम्मेलन ने {o} को अपने अनुभव बताने के लिए बुलाया।", "क्या नया भेदभाव-विरोधी कानून {o} की रक्षा करता है?"],
}


def sentences(frames: dict[str, list[str]], per_frame: int = 3) -> dict[str, list[str]]:
    """Each frame with `per_frame` groups, rotating through them so that every group appears about equally
    often in every kind (the first letter of a sentence made upper-case)."""
    out: dict[str, list[str]] = {}
    for lang, lang_frames in frames.items():
        groups = GROUPS[lang]
        texts = []
        for j, frame in enumerate(lang_frames):
            for k in range(per_frame):
                nom, obl = groups[(j * per_frame + k) % len(groups)]
                text = frame.replace("{G}", nom).replace("{g}", nom).replace("{o}", obl)
                texts.append(text[:1].upper() + text[1:])
        out[lang] = texts
    return out
