"""Sentences for tamis_contrast.jsonl.gz written in the languages of the parallel probes, and hard negatives.

Read by build_contrast.py. Why: the threat head's only labelled source is English (political Telegram posts),
and the harassment head's insult rows are mostly English, so a threat or an insult in German, Polish or Hindi
scored far below its English twin. Each language gets direct threats and insults aimed at a person with no
identity term in them (no identity word may become a signal), and hard negatives in the same language that
share their words: news and court reports about threats, reporting and counter-speech, idioms ("this joke
kills me"), sports and games. The self-harm and sexual hard negatives answer what fired on clean rows out of
source: counter-speech on a suicide forum ("Suicide is not the answer") and questions about consent and sexual
health asked of a chatbot.

None of these is a probe sentence or a near-copy of one (tests/test_text_probes.py checks it).
"""

# lang -> sentences. Threats: harassment, harassment/threatening, violence.
THREATS = {
    "en": [
        "You'll wake up in a hospital bed if you post my name again.",
        "I'll punch your teeth out when I catch you alone.",
        "Come near my sister again and I'll drown you in the canal.",
        "I'm going to cut you open, you won't see it coming.",
        "Tonight I'll be waiting at your door with a baseball bat.",
        "You won't leave this town alive, I'll make sure of it.",
    ],
    "de": [
        "Wenn du noch einmal meinen Namen postest, wachst du im Krankenhaus auf.",
        "Ich schlag dir die Zähne aus, sobald ich dich allein erwische.",
        "Heute Nacht warte ich mit einem Baseballschläger vor deiner Tür.",
        "Ich schneide dich auf, du wirst es nicht kommen sehen.",
        "Du verlässt diese Stadt nicht lebend, dafür sorge ich.",
        "Komm meiner Schwester noch einmal nahe und ich ertränke dich im Kanal.",
    ],
    "fr": [
        "Si tu publies encore mon nom, tu te réveilleras à l'hôpital.",
        "Je vais te casser les dents dès que je te trouve seul.",
        "Ce soir je t'attends devant ta porte avec une batte de baseball.",
        "Je vais t'ouvrir le ventre, tu ne le verras pas venir.",
        "Tu ne quitteras pas cette ville vivant, je m'en occupe.",
        "Approche encore ma sœur et je te noie dans le canal.",
    ],
    "es": [
        "Si vuelves a publicar mi nombre, despertarás en un hospital.",
        "Te voy a romper los dientes en cuanto te pille solo.",
        "Esta noche te espero en tu puerta con un bate de béisbol.",
        "Te voy a abrir en canal, no lo verás venir.",
        "No vas a salir vivo de este pueblo, me encargo yo.",
        "Acércate otra vez a mi hermana y te ahogo en el río.",
    ],
    "pt": [
        "Se voltares a publicar o meu nome, vais acordar num hospital.",
        "Vou te arrebentar os dentes quando te pegar sozinho.",
        "Hoje à noite vou te esperar na porta com um taco de beisebol.",
        "Vou te abrir ao meio, você nem vai ver chegar.",
        "Você não sai vivo desta cidade, eu garanto.",
        "Chega perto da minha irmã de novo e eu te afogo no rio.",
    ],
    "it": [
        "Se pubblichi ancora il mio nome, ti risvegli in ospedale.",
        "Ti faccio saltare i denti appena ti becco da solo.",
        "Stanotte ti aspetto sotto casa con una mazza da baseball.",
        "Ti apro in due, non te ne accorgerai nemmeno.",
        "Da questa città non esci vivo, te lo garantisco.",
        "Avvicinati ancora a mia sorella e ti affogo nel canale.",
    ],
    "nl": [
        "Als je mijn naam nog een keer post, word je wakker in het ziekenhuis.",
        "Ik sla je tanden eruit zodra ik je alleen tegenkom.",
        "Vannacht sta ik met een honkbalknuppel voor je deur.",
        "Ik snij je open, je ziet het niet aankomen.",
        "Je komt deze stad niet levend uit, daar zorg ik voor.",
        "Kom nog één keer bij mijn zus in de buurt en ik verdrink je in de gracht.",
    ],
    "pl": [
        "Jeśli jeszcze raz opublikujesz moje nazwisko, obudzisz się w szpitalu.",
        "Wybiję ci zęby, jak tylko dorwę cię samego.",
        "Dziś w nocy będę czekał pod twoimi drzwiami z kijem bejsbolowym.",
        "Rozpruję cię, nawet nie zauważysz kiedy.",
        "Nie wyjedziesz z tego miasta żywy, już ja o to zadbam.",
        "Zbliż się jeszcze raz do mojej siostry, a utopię cię w kanale.",
    ],
    "ar": [
        "إذا نشرت اسمي مرة أخرى فستستيقظ في المستشفى.",
        "سأكسر أسنانك عندما أجدك وحدك.",
        "الليلة سأنتظرك أمام بابك ومعي عصا بيسبول.",
        "سأشق بطنك ولن تراني قادماً.",
        "لن تخرج من هذه المدينة حياً، أعدك بذلك.",
        "اقترب من أختي مرة أخرى وسأغرقك في النهر.",
    ],
    "zh": [
        "你再敢发我的名字，就等着在医院醒来吧。",
        "等我逮到你一个人，就打掉你的牙。",
        "今晚我拿着棒球棍在你家门口等你。",
        "我会把你开膛破肚，你根本看不到我来。",
        "你别想活着离开这座城市，我保证。",
        "你再靠近我妹妹，我就把你淹死在河里。",
    ],
    "hi": [
        "अगर तुमने फिर से मेरा नाम पोस्ट किया तो तुम अस्पताल में जागोगे।",
        "अकेले मिले तो तुम्हारी बत्तीसी बाहर कर दूँगा।",
        "आज रात मैं बेसबॉल बैट लेकर तुम्हारे दरवाज़े पर इंतज़ार करूँगा।",
        "मैं तुम्हें चीर दूँगा, तुम्हें पता भी नहीं चलेगा।",
        "तुम इस शहर से ज़िंदा नहीं निकलोगे, यह मेरा वादा है।",
        "मेरी बहन के पास फिर आए तो मैं तुम्हें नदी में डुबो दूँगा।",
    ],
}

# Insults aimed at a person (no identity term): harassment, not hate.
INSULTS = {
    "en": [
        "You're a spineless worm and everybody knows it.",
        "What a clueless buffoon you are.",
        "Your brain is the size of a pea, stop typing.",
        "You lazy good-for-nothing parasite.",
        "You absolute cretin, nobody asked for your opinion.",
    ],
    "de": [
        "Rückgratloser Wurm, das weiß hier jeder.",
        "Was für ein ahnungsloser Hanswurst du bist.",
        "Dein Hirn ist so groß wie eine Erbse, hör auf zu tippen.",
        "Du fauler, nichtsnutziger Schmarotzer.",
        "Du Vollpfosten, niemand hat nach deiner Meinung gefragt.",
    ],
    "fr": [
        "T'es qu'un minable sans colonne vertébrale, tout le monde le sait.",
        "Quel bouffon ignorant tu fais.",
        "Ton cerveau a la taille d'un petit pois, arrête d'écrire.",
        "Espèce de parasite fainéant bon à rien.",
        "Pauvre crétin, personne ne t'a demandé ton avis.",
    ],
    "es": [
        "Eres un gusano sin agallas y todo el mundo lo sabe.",
        "Qué payaso más ignorante eres.",
        "Tienes el cerebro del tamaño de un guisante, deja de escribir.",
        "Parásito vago, no sirves para nada.",
        "Pedazo de cretino, nadie te ha pedido tu opinión.",
    ],
    "pt": [
        "Você é um verme covarde e todo mundo sabe disso.",
        "Que palhaço ignorante você é.",
        "Teu cérebro é do tamanho de uma ervilha, para de escrever.",
        "Seu parasita preguiçoso e inútil.",
        "Seu cretino, ninguém pediu a tua opinião.",
    ],
    "it": [
        "Sei un verme senza spina dorsale e lo sanno tutti.",
        "Che buffone ignorante che sei.",
        "Hai il cervello grande come un pisello, smettila di scrivere.",
        "Parassita pigro e buono a nulla.",
        "Cretino totale, nessuno ti ha chiesto un parere.",
    ],
    "nl": [
        "Je bent een ruggengraatloze worm en iedereen weet het.",
        "Wat ben jij een onwetende clown.",
        "Je hersenen zijn zo groot als een erwt, stop met typen.",
        "Jij luie nietsnut, jij parasiet.",
        "Stomme randdebiel, niemand vroeg om jouw mening.",
    ],
    "pl": [
        "Jesteś bezkręgowym robakiem i wszyscy o tym wiedzą.",
        "Ale z ciebie tępy błazen.",
        "Masz mózg wielkości groszku, przestań pisać.",
        "Ty leniwy pasożycie, do niczego się nie nadajesz.",
        "Ty kretynie, nikt cię nie pytał o zdanie.",
    ],
    "ar": [
        "أنت دودة جبانة والجميع يعرف ذلك.",
        "يا لك من مهرج جاهل.",
        "عقلك بحجم حبة البازلاء، توقف عن الكتابة.",
        "أنت طفيلي كسول لا فائدة منك.",
        "يا أحمق، لم يسألك أحد عن رأيك.",
    ],
    "zh": [
        "你就是个没骨气的软虫，大家都知道。",
        "你真是个无知的小丑。",
        "你的脑子只有豌豆那么大，别再打字了。",
        "你这个又懒又没用的寄生虫。",
        "你这个白痴，没人问你的意见。",
    ],
    "hi": [
        "तुम एक रीढ़विहीन कीड़े हो और यह सबको पता है।",
        "तुम कितने अनपढ़ जोकर हो।",
        "तुम्हारा दिमाग मटर के दाने जितना है, लिखना बंद करो।",
        "तुम आलसी, निकम्मे परजीवी हो।",
        "बेवकूफ़, किसी ने तुम्हारी राय नहीं माँगी।",
    ],
}

# Same words, no threat or insult: news and court reports, reporting, counter-speech, idioms, sports, games.
HARD_NEGATIVES = {
    "en": [
        "Police arrested a man who had sent threatening messages to his former partner.",
        "If someone threatens you online, take screenshots and report it to the platform.",
        "Insulting other members is against the rules of this forum, please keep it civil.",
        "This joke kills me every single time.",
        "We destroyed them in the second half, what a match!",
        "I got killed by the final boss three times tonight.",
        "My mum will kill me if I'm late for dinner again.",
        "The striker was booked for calling the referee an idiot.",
    ],
    "de": [
        "Die Polizei hat einen Mann festgenommen, der seiner Ex-Partnerin Drohnachrichten geschickt hatte.",
        "Wenn dich jemand online bedroht, mach Screenshots und melde es der Plattform.",
        "Beleidigungen anderer Mitglieder verstoßen gegen die Forenregeln, bitte bleibt sachlich.",
        "Dieser Witz bringt mich jedes Mal um.",
        "In der zweiten Halbzeit haben wir sie komplett zerlegt, was für ein Spiel!",
        "Der Endboss hat mich heute Abend dreimal getötet.",
        "Meine Mutter bringt mich um, wenn ich wieder zu spät zum Essen komme.",
        "Der Stürmer sah Gelb, weil er den Schiedsrichter einen Idioten genannt hatte.",
    ],
    "fr": [
        "La police a arrêté un homme qui envoyait des messages de menace à son ex-compagne.",
        "Si quelqu'un te menace en ligne, fais des captures d'écran et signale-le à la plateforme.",
        "Insulter les autres membres est contraire aux règles du forum, restez courtois.",
        "Cette blague me tue à chaque fois.",
        "On les a écrasés en deuxième mi-temps, quel match !",
        "Le boss final m'a tué trois fois ce soir.",
        "Ma mère va me tuer si j'arrive encore en retard au dîner.",
        "L'attaquant a pris un carton jaune pour avoir traité l'arbitre d'idiot.",
    ],
    "es": [
        "La policía detuvo a un hombre que enviaba mensajes amenazantes a su expareja.",
        "Si alguien te amenaza en internet, haz capturas de pantalla y denúncialo a la plataforma.",
        "Insultar a otros miembros va contra las normas del foro, mantened el respeto.",
        "Este chiste me mata cada vez.",
        "¡Los destrozamos en la segunda parte, qué partidazo!",
        "El jefe final me ha matado tres veces esta noche.",
        "Mi madre me va a matar si vuelvo a llegar tarde a cenar.",
        "Al delantero le sacaron tarjeta por llamar idiota al árbitro.",
    ],
    "pt": [
        "A polícia prendeu um homem que enviava mensagens de ameaça à ex-companheira.",
        "Se alguém te ameaçar na internet, tira prints e denuncia à plataforma.",
        "Insultar outros membros é contra as regras do fórum, mantenham o respeito.",
        "Essa piada me mata toda vez.",
        "Acabamos com eles no segundo tempo, que jogaço!",
        "O chefão final me matou três vezes hoje à noite.",
        "Minha mãe vai me matar se eu chegar atrasado para o jantar de novo.",
        "O atacante levou cartão por chamar o árbitro de idiota.",
    ],
    "it": [
        "La polizia ha arrestato un uomo che mandava messaggi minacciosi alla ex compagna.",
        "Se qualcuno ti minaccia online, fai degli screenshot e segnalalo alla piattaforma.",
        "Insultare gli altri utenti è contro le regole del forum, restate civili.",
        "Questa battuta mi uccide ogni volta.",
        "Li abbiamo distrutti nel secondo tempo, che partita!",
        "Il boss finale mi ha ucciso tre volte stasera.",
        "Mia madre mi ammazza se arrivo di nuovo tardi a cena.",
        "L'attaccante è stato ammonito per aver dato dell'idiota all'arbitro.",
    ],
    "nl": [
        "De politie heeft een man aangehouden die dreigberichten naar zijn ex-partner stuurde.",
        "Als iemand je online bedreigt, maak screenshots en meld het bij het platform.",
        "Andere leden beledigen is tegen de regels van het forum, blijf beleefd.",
        "Deze grap slaat me elke keer dood.",
        "In de tweede helft hebben we ze volledig ingemaakt, wat een wedstrijd!",
        "De eindbaas heeft me vanavond drie keer gedood.",
        "Mijn moeder vermoordt me als ik weer te laat ben voor het eten.",
        "De spits kreeg geel omdat hij de scheidsrechter een idioot noemde.",
    ],
    "pl": [
        "Policja zatrzymała mężczyznę, który wysyłał byłej partnerce wiadomości z groźbami.",
        "Jeśli ktoś ci grozi w internecie, zrób zrzuty ekranu i zgłoś to na platformie.",
        "Obrażanie innych użytkowników jest niezgodne z regulaminem forum, bądźcie kulturalni.",
        "Ten żart mnie za każdym razem rozwala.",
        "W drugiej połowie rozgromiliśmy ich, co za mecz!",
        "Ostatni boss zabił mnie dziś trzy razy.",
        "Mama mnie zabije, jak znowu spóźnię się na obiad.",
        "Napastnik dostał kartkę za nazwanie sędziego idiotą.",
    ],
    "ar": [
        "اعتقلت الشرطة رجلاً كان يرسل رسائل تهديد إلى زوجته السابقة.",
        "إذا هددك أحد على الإنترنت فالتقط صوراً للشاشة وأبلغ المنصة.",
        "إهانة الأعضاء الآخرين مخالفة لقواعد المنتدى، يرجى الالتزام بالأدب.",
        "هذه النكتة تقتلني من الضحك في كل مرة.",
        "سحقناهم في الشوط الثاني، يا لها من مباراة!",
        "قتلني الزعيم الأخير في اللعبة ثلاث مرات الليلة.",
        "أمي ستقتلني إذا تأخرت عن العشاء مرة أخرى.",
        "حصل المهاجم على بطاقة صفراء لأنه وصف الحكم بالأحمق.",
    ],
    "zh": [
        "警方逮捕了一名多次向前女友发送威胁信息的男子。",
        "如果有人在网上威胁你，请截图并向平台举报。",
        "辱骂其他成员违反论坛规则，请文明发言。",
        "这个笑话每次都笑死我了。",
        "下半场我们把他们打得落花流水，太精彩了！",
        "今晚我被最终boss杀了三次。",
        "要是我吃饭再迟到，我妈会杀了我的。",
        "前锋因为骂裁判是白痴被出示了黄牌。",
    ],
    "hi": [
        "पुलिस ने एक आदमी को गिरफ़्तार किया जो अपनी पूर्व साथी को धमकी भरे संदेश भेजता था।",
        "अगर कोई तुम्हें ऑनलाइन धमकी दे तो स्क्रीनशॉट लो और प्लेटफ़ॉर्म पर रिपोर्ट करो।",
        "दूसरे सदस्यों का अपमान करना फ़ोरम के नियमों के ख़िलाफ़ है, कृपया शालीन रहें।",
        "यह चुटकुला हर बार मुझे हँसा-हँसा कर मार देता है।",
        "दूसरे हाफ़ में हमने उन्हें धूल चटा दी, क्या मैच था!",
        "आज रात आख़िरी बॉस ने मुझे तीन बार मार दिया।",
        "अगर मैं फिर से खाने पर देर से पहुँचा तो माँ मुझे मार डालेगी।",
        "रेफ़री को बेवकूफ़ कहने पर स्ट्राइकर को पीला कार्ड मिला।",
    ],
}

# Support and counter-speech about suicide and self-harm (every category 0): what people write to someone at
# risk. Out of source the self-harm head fired on such posts ("Suicide is not the answer though").
SELF_HARM_SUPPORT = {
    "en": [
        "Please don't give up, things can get better and we are here for you.",
        "Ending your life won't fix this, talk to someone tonight, you matter.",
        "I lost my cousin to suicide, so I volunteer at a crisis line now.",
        "It sounds like you're in a lot of pain. Have you told your doctor how you feel?",
        "You reached out, and that took courage. Stay with us.",
        "When I was in a dark place years ago, therapy helped me more than I expected.",
        "Hang in there, message me any time if you need to talk.",
        "Has anyone here tried support groups for families after a suicide?",
    ],
    "de": ["Bitte gib nicht auf, es gibt Menschen, die dir zuhören wollen.",
           "Suizid ist keine Lösung, ruf heute noch die Telefonseelsorge an."],
    "fr": ["S'il te plaît, ne baisse pas les bras, on est là pour toi.",
           "Le suicide n'est pas une solution, parle à quelqu'un ce soir."],
    "es": ["Por favor, no te rindas, hay gente que quiere escucharte.",
           "El suicidio no es la salida, habla con alguien esta noche."],
    "pt": ["Por favor, não desista, estamos aqui para te ouvir."],
    "it": ["Ti prego, non mollare, ci sono persone che vogliono ascoltarti."],
    "nl": ["Geef alsjeblieft niet op, er zijn mensen die naar je willen luisteren."],
    "pl": ["Proszę, nie poddawaj się, są ludzie, którzy chcą cię wysłuchać."],
}

# Questions about consent, sex education and sexual health (every category 0): not sexual content. Out of source
# the sexual head scored such chatbot questions near 1.
SEXUAL_HEALTH = {
    "en": [
        "What is the best way to explain consent to a fourteen-year-old?",
        "Which books help teenagers understand healthy relationships and consent?",
        "How often should I get tested for sexually transmitted infections?",
        "What should a school's sex education curriculum cover for twelve-year-olds?",
        "How do I support a friend who told me she was sexually assaulted?",
        "What are the laws on sharing private photos without permission in the UK?",
        "Is it normal for libido to drop after having a baby?",
        "How can our company train managers to handle sexual harassment complaints?",
        "What contraception options are there for women who cannot take the pill?",
        "How do I report an account that posts someone's intimate images without consent?",
        "Where can survivors of sexual violence find free counselling?",
        "What does affirmative consent mean in a relationship?",
    ],
    "de": ["Wie erkläre ich meinem Kind, was Einvernehmlichkeit bedeutet?",
           "Wie oft sollte man sich auf sexuell übertragbare Krankheiten testen lassen?"],
    "fr": ["Comment parler du consentement avec des adolescents ?",
           "Où se faire dépister gratuitement pour les infections sexuellement transmissibles ?"],
    "es": ["¿Cómo explico el consentimiento a mis hijos adolescentes?",
           "¿Qué métodos anticonceptivos existen además de la píldora?"],
}

# Everyday and encyclopedic Vietnamese (every category 0). The only Vietnamese rows in the shared data are harmful
# chatbot questions (catqa) and encyclopedia paragraphs (xquad): with xquad held out, "Vietnamese" alone meant
# harmful, and xquad's Vietnamese paragraphs were flagged `sexual` and `self-harm`.
EVERYDAY_VI = {
    "vi": [
        "Sáng nay tôi đi chợ mua rau và cá cho bữa trưa.",
        "Thư viện thành phố mở cửa từ tám giờ sáng đến năm giờ chiều.",
        "Con gái tôi vừa học xong năm nhất đại học ngành kiến trúc.",
        "Sông Mê Kông chảy qua sáu quốc gia trước khi đổ ra Biển Đông.",
        "Bảo tàng trưng bày nhiều hiện vật gốm sứ từ thời nhà Lý.",
        "Cuối tuần này gia đình tôi sẽ về quê thăm ông bà.",
        "Nhà máy điện mặt trời mới cung cấp điện cho khoảng mười nghìn hộ gia đình.",
        "Đội bóng của trường đã thắng trận chung kết với tỷ số hai một.",
        "Bạn có thể gửi cho tôi báo cáo trước thứ Sáu được không?",
        "Phở bò là món ăn sáng quen thuộc của người Hà Nội.",
        "Năm 1945, nhiều thay đổi lớn đã diễn ra trong lịch sử đất nước.",
        "Công ty đã ký hợp đồng phát sóng các trận đấu trong ba mùa giải tới.",
    ],
}

# Everyday sentences (every category 0) in the languages whose clean text is scarce in the shared data beside
# their harmful rows. A fit that adds rtp_lx_multilingual's left-out positives (recipe current-rare) flagged a
# Hindi everyday probe as harassment: the language alone had come to look harmful. Topics differ from the probes'.
EVERYDAY_MORE = {
    "hi": ["मेरी बहन अगले महीने दिल्ली में नई नौकरी शुरू करेगी।", "बाज़ार में आज आम बहुत सस्ते मिल रहे थे।",
           "क्या आप मुझे पुस्तकालय का रास्ता बता सकते हैं?", "हमारी क्रिकेट टीम ने कल का मैच जीत लिया।",
           "मैं शाम को अपने दादाजी के साथ पार्क में टहलने जाता हूँ।", "बैंक शनिवार को दोपहर एक बजे तक खुला रहता है।",
           "इस किताब की कहानी बहुत दिलचस्प है।", "कृपया बैठक के लिए दस मिनट पहले पहुँचें।"],
    "ar": ["أختي ستبدأ عملاً جديداً في القاهرة الشهر المقبل.", "كانت أسعار البرتقال في السوق منخفضة اليوم.",
           "هل يمكنك أن تدلني على الطريق إلى المكتبة؟", "فاز فريقنا بمباراة كرة القدم أمس.",
           "أتمشى كل مساء مع جدي في الحديقة.", "يفتح البنك أبوابه يوم السبت حتى الواحدة ظهراً.",
           "قصة هذا الكتاب ممتعة جداً.", "يرجى الحضور قبل الاجتماع بعشر دقائق."],
    "zh": ["我姐姐下个月要在上海开始新工作。", "今天市场上的橘子很便宜。", "请问去图书馆怎么走？", "我们队昨天赢了篮球比赛。",
           "我每天傍晚和爷爷在公园散步。", "银行星期六营业到下午一点。", "这本书的故事非常有意思。", "请在会议开始前十分钟到达。"],
    "pl": ["Moja siostra zaczyna nową pracę w Krakowie w przyszłym miesiącu.", "Dziś na targu pomarańcze były bardzo tanie.",
           "Czy może mi pan powiedzieć, jak dojść do biblioteki?", "Nasza drużyna wygrała wczoraj mecz piłki nożnej.",
           "Wieczorami spaceruję z dziadkiem po parku.", "Bank jest otwarty w sobotę do trzynastej.",
           "Historia w tej książce jest bardzo ciekawa.", "Proszę przyjść dziesięć minut przed spotkaniem."],
    "nl": ["Mijn zus begint volgende maand aan een nieuwe baan in Utrecht.", "Vandaag waren de sinaasappels op de markt erg goedkoop.",
           "Kunt u mij de weg naar de bibliotheek wijzen?", "Ons team heeft gisteren de voetbalwedstrijd gewonnen.",
           "'s Avonds wandel ik met mijn opa door het park.", "De bank is op zaterdag open tot één uur.",
           "Het verhaal in dit boek is heel boeiend.", "Kom alstublieft tien minuten voor de vergadering."],
}

# First-person disclosures of self-harm acts (self-harm 1): the older rows are mostly intent ("I want to die"),
# and the only acts in other languages were rtp_lx's; an overdose told in the past tense scored low.
SELF_HARM_ACTS = {
    "en": ["I overdosed on my antidepressants last night and didn't tell anyone.",
           "I've been cutting my thighs so nobody sees the marks.",
           "I drank bleach earlier because I wanted the pain to stop."],
    "de": ["Ich habe gestern Abend absichtlich eine Überdosis Schlaftabletten genommen."],
    "fr": ["J'ai pris une surdose de médicaments hier soir, exprès."],
    "es": ["Anoche me volví a cortar los brazos."],
    "pt": ["Tomei uma overdose de remédios ontem de propósito."],
    "it": ["Ieri sera ho preso di proposito un'overdose di sonniferi."],
    "nl": ["Ik heb gisteren expres veel te veel slaappillen ingenomen."],
    "pl": ["Wczoraj znowu się cięłam, nie mogę przestać."],
    "ar": ["تناولت عمداً جرعة زائدة من الحبوب الليلة الماضية."],
    "zh": ["我昨晚故意吃了一大把安眠药。"],
    "hi": ["मैंने कल रात जानबूझकर बहुत सारी नींद की गोलियाँ खा लीं।"],
}
