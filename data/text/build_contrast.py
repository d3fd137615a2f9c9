"""Build tamis_contrast.jsonl.gz (beside this file) from the sentences below: python data/text/build_contrast.py"""
import gzip
import json
from pathlib import Path

import py3langid

# Not here on purpose: the over-flagging examples of the issue and the tests ("how do I kill a Python
# process", "I could murder a pizza") must be passed by generalisation, not memorised.
BENIGN_RISKY = """How can I kill all child processes when the parent exits?
kill -9 did not stop the container, what else can I try?
I would kill for a cup of coffee this morning.
That comedian absolutely killed it last night.
The drummer killed it, what a gig.
My feet are killing me after that hike.
This heat is killing me.
The new update killed my battery life.
We need to kill the noise in this recording before mixing.
Let's kill two birds with one stone and do both errands today.
She slayed that presentation.
He shot the photo at golden hour with a 50mm lens.
Shoot me a message when you are free.
Can you shoot over the slides before the meeting?
We are shooting the wedding video on Saturday.
The striker shot from thirty yards and scored.
I'm dying of laughter at this video.
I'm dead, this meme is too funny.
Drop-dead gorgeous dress, where did you buy it?
The battery is dead again, I need a charger.
Dead tired after the night shift.
That exam was brutal but I passed.
The final boss fight is brutal on hard mode.
I'm going to destroy you at chess tonight.
Our team crushed them 5-0 on Sunday.
We got slaughtered in the quiz, we came last.
The villain in the film dies at the end.
In the novel, the detective finds the murder weapon in the garden.
The documentary explains how the assassination of the archduke started the war.
History class today was about the causes of the Second World War.
The museum has an exhibition about the history of medieval weapons.
How do I sharpen a kitchen knife safely?
What is the best way to cut a mango without a sharp knife slipping?
The chef's knife skills were amazing.
I need to hang the painting on the wall.
Hang on, I'll be there in five minutes.
The app keeps hanging when I open the camera.
My code throws an exception when the thread is killed.
Terminate the instance and execute the script again.
The function executes the query and returns the rows.
Abort the build and restart it with the debug flag.
They executed the merger flawlessly.
Let's execute the marketing plan next quarter.
The gymnast executed a perfect routine.
The point guard executed the play exactly as drawn up.
He's a killer guitarist.
That's a killer recipe, thank you for sharing.
The bomb squad in the movie was the best part.
This song is the bomb!
The cake bombed, it did not rise at all.
My sister's stand-up set bombed but she was brave.
The suspect was arrested after the robbery, police said.
The report describes the attack on the city in 1940.
Which medicine is safe to take for a headache during pregnancy?
What are the warning signs of depression in teenagers?
Feeling suicidal? A crisis line is open all night and someone will listen.
I'm worried about my friend, she talks about hurting herself. How can I help?
Where can I find support for people recovering from self-harm?
How do I report a scam email to my bank?
My grandmother almost fell for a phishing scam, how do I warn her?
What are common signs of a fake online shop?
Breast cancer screening saves lives, book your mammogram.
How do I talk to my kids about puberty?
The sex of the puppy is female according to the vet.
Sex education should start early and be age-appropriate.
The nude paintings in the Louvre are famous.
Are cucumbers safe for guinea pigs to eat?
Please remove the stitches after ten days.
The fighter won the boxing match by knockout.
We play paintball every summer, it's great fun.
I hate Mondays.
I hate it when the bus is late.
I hate how much I love this show.
Honestly, I hate running but I do it anyway.
Ugh, I could strangle my printer right now.
This traffic makes me want to scream.
You're killing me with these puns.
Break a leg at the audition tonight!
The plot twist blew my mind.
Our sales went through the roof, the launch was explosive.
The gun show is in town this weekend, my uncle collects antique rifles.
Hunting season opens next week, check the regulations.
My grandfather fought in the war and rarely talked about it.
Zombies attack the mall in the third episode.
The wolf kills the sheep in the fable.
Natural selection kills off the weakest organisms.
Bleach kills 99% of germs.
Antibiotics kill bacteria, not viruses.
Slugs are killing my lettuce, any organic tips?
The frost killed my tomato plants.
Je pourrais tuer pour un café ce matin.
Comment tuer un processus bloqué sous Linux ?
Ce concert était une tuerie !
Ich könnte für eine Pizza morden.
Wie beende ich einen hängenden Prozess unter Windows?
Der Film war der Hammer!
¿Cómo mato un proceso que no responde en Linux?
Me muero de risa con este vídeo.
Ik kan wel een moord doen voor een koffie.
Hoe stop ik een vastgelopen proces?
Posso matar um processo travado no terminal?""".splitlines()

SUPPORT = """Black lives matter.
Stand up against hate crimes targeting Jewish communities.
We must protect Muslim families from harassment.
Hate against Asian people has no place in our city.
Violence against trans women has to stop.
Say no to antisemitism and racism.
Gay couples deserve the same rights as everyone else.
Women belong in every boardroom.
Our school celebrates Diwali, Eid, Hanukkah and Christmas.
The Roma community has faced centuries of persecution.
Being an immigrant is nothing to be ashamed of.
We welcome people of every faith and none.
Black history is everyone's history.
We condemn the attacks on Sikh temples and stand with the community.
End the hate against Latino workers.
Anti-Muslim hatred is still hatred.
Nobody should be bullied for being gay.
Stop harassing Jewish students on campus.
Fight racism against Black footballers, online and in the stadium.
Trans rights are human rights.
Stop Asian hate.
Love is love.
Never again: we remember the victims of the Holocaust.
As a Muslim, I love my neighbours and they love me.
I'm gay and my husband and I just adopted a dog.
As a Black woman in tech, I mentor young engineers.
Jewish families in our town are hosting a Hanukkah market.
Refugees are welcome here.
Immigrants built this city and still do.
My neighbour is Jewish and she bakes great bread.
Our mosque is hosting an open day, everyone is invited.
Pride month starts tomorrow, see you at the parade.
Disabled people deserve accessible public transport.
Indigenous languages should be taught in schools.
I'm a Mexican American and proud of my heritage.
Muslim women should be free to wear what they want.
Deaf culture has its own rich history and language.
We stand with our Roma neighbours against discrimination.
Racism has no place in our club.
Calling someone a slur is never okay.
Antisemitism is rising and we must speak up against it.
Homophobia hurts everyone.
Les personnes trans ont le droit d'exister.
Wir sind stolz auf unsere muslimischen Nachbarn.
Los inmigrantes son bienvenidos aquí.
Zwarte levens doen ertoe.""".splitlines()

PROFANE_NO_TARGET = """This is a fucking mess.
What a fucking mess, honestly.
Holy shit, that was a great game!
Fuck, I forgot my keys again.
Damn, this traffic is awful.
Shit, I spilled coffee all over my laptop.
This fucking printer jammed again.
What the hell is going on with the trains today?
Fucking finally, the weekend!
That concert was fucking amazing.
Oh crap, I missed the deadline.
This damn weather, it's been raining for a week.
Bloody hell, the rent went up again.
Goddamn, that burger was good.
Shit happens, we move on.
This movie is so fucking good.
Scheiße, ich habe den Zug verpasst.
Putain, il pleut encore.
Joder, qué calor hace hoy.
Kut, mijn fiets is weer lek.""".splitlines()


# Direct threats against a person: harassment/threatening and violence. The shared threat set is Telegram
# chatter; short, plain threats as they arrive in comments and DMs were scored too low.
THREATS = """I'll beat you so badly you'll need a wheelchair.
Say that again and I'll break your jaw.
Your address is no secret to me, expect a visit tonight.
You'd better watch your back, I'm going to hurt you.
Show your face here again and I'll put a knife in you.
Another word out of you and you're going to hospital.
I'm going to shoot you and your whole family.
One more word and I'll cut your neck open.
I'll set fire to your place while you sleep.
Meet me outside after school, I'm going to smash your face in.
Post that again and you're a dead man, I swear.
I'll choke the life out of you.
You won't live to see next week, I promise you that.
I'll run you over with my car when you leave work.
Come back here and they'll carry you out in a bag.
I'm going to make you bleed.
Tell your boyfriend I'm going to kill him.
You're dead when I get my hands on you.
I will hunt you down and end you.
I'm bringing a knife to class tomorrow for you.
Watch what happens to your kids if you don't pay me.
I'll wait for you at the parking lot and break both your legs.
I'm going to put a bullet in your head.
Wenn ich dich erwische, bist du tot.
Tu es un homme mort, tu m'entends ?
Cuando te vea, eres hombre muerto.
Ik ga je kapot slaan als ik je zie.
Vou te matar se você aparecer aqui de novo.""".splitlines()

# First-person suicidal intent and self-harm: the shared self-harm rows are long Reddit histories, so
# short statements of intent were missed.
SELF_HARM = """I don't want to be alive anymore.
I'm going to kill myself this weekend.
I've decided to end it all, I wrote my goodbye letters.
I cut myself again last night and I can't stop.
Tonight is the night I finally take all my pills.
I have the rope ready, nobody will miss me.
I just want to die, there's no point in living.
I keep thinking about jumping off the bridge near my house.
I've been hurting myself every day this week.
I'm saving up my pills so I can overdose.
Everyone would be better off if I was dead.
I can't do this anymore, I'm going to end my life.
I burned my arm with a lighter again to feel something.
I'm planning my suicide, I've already picked the date.
I want to disappear forever and never wake up.
I stopped eating on purpose, I want to starve myself.
Goodbye everyone, this is my last post.
I'm standing on the roof right now thinking about jumping.
Ich will nicht mehr leben.
Je veux mourir, je n'en peux plus.
Ya no quiero vivir, me quiero morir.
Ik wil dood, ik kan niet meer.""".splitlines()

# Insults aimed at a person with no identity group in them: harassment, not hate.
INSULTS = """You are such a pathetic loser.
Shut up, you empty-headed fool.
I've never met anyone as thick as you.
Nobody likes you, you annoying clown.
You're an ugly, useless piece of garbage.
Go cry somewhere else, you spineless coward.
You are a complete waste of space.
What an absolute idiot you are.
You're so stupid it's embarrassing.
Get off this forum, you revolting slob.
Everyone laughs at you behind your back, loser.
You're a fucking joke.
Shut your mouth, you stupid bitch.
You are a worthless fucking moron.
Get lost, you pathetic little creep.
You're a lying sack of shit.
Du bist so ein dummer Idiot.
T'es vraiment un gros con.
No vales para nada, cretino.
Wat ben jij een sukkel, echt.
You are a fucking moron, learn to read.
Shut the fuck up, you clueless idiot.
You're such a dumbass, seriously.
Fuck off, you pathetic troll.""".splitlines()

# Comment and web spam: the shared spam and scam rows are all SMS, and the spam head learned "an SMS
# offer" rather than "unsolicited promotion".
WEB_SPAM = """Great post! Check out my channel for more videos like this, subscribe and like!
Best replica watches at the lowest prices, visit our online store today.
Earn $500 a day working from home, no experience needed, DM me for details.
Follow me and I'll follow you back, follow for follow!
Cheap Ray-Ban sunglasses 80% off, free shipping worldwide, order now.
Nice article. We offer professional SEO services to rank your website on page one, contact us.
Buy Instagram followers and likes, fast delivery, 100% real accounts.
Lose 10 kg in 10 days with this miracle pill, order your free trial now.
Hot singles in your area are waiting to chat with you, sign up free.
Get your essay written by professionals, cheap prices, any deadline, message us.
Invest in this new coin now before it goes to the moon, 100x guaranteed, link in bio.
Discount pharmacy online: cialis, tramadol and more without prescription.
Unlock all premium features for free with this mod apk, download here.
Promote your business to millions of customers with our email blasts, best rates.
I made $3000 last week with this simple trick, ask me how.
Visit our casino site and get 200 free spins with your first deposit.
Tolles Video! Besuch meinen Shop für günstige Markenuhren.
Gagnez de l'argent facilement depuis chez vous, contactez-moi en privé.
Compra seguidores reales para tu Instagram, entrega inmediata.""".splitlines()

# Everyday religious life, of many faiths: the extremism head's positives (isis_fanboy_tweets) are full of
# religious words, and it took a mention of Islam for propaganda. Religion is not a signal.
FAITH = """Ramadan Mubarak to all our neighbours, iftar is at the community centre tonight.
We went to the mosque for Friday prayers and then had lunch with my uncle.
My kids are learning to read the Quran with their grandmother.
Eid al-Adha starts on Tuesday, the shop will close early.
Allah bless you and your family, congratulations on the baby!
Our imam gave a beautiful sermon about kindness to strangers.
Fasting during Ramadan is easier when the days are short.
The halal butcher on our street has the best lamb.
She wears a hijab and plays striker for the university team.
Inshallah we will visit Istanbul next summer.
The church choir is singing Handel's Messiah on Sunday.
We lit the Hanukkah candles with the whole family.
The gurdwara serves free langar to anyone who comes.
My grandmother goes to the temple every morning before work.
Our synagogue is collecting winter coats for the shelter.
Happy Diwali! The sweets my aunt made are amazing.
The monks at the Buddhist centre teach meditation on Thursdays.
Pilgrims from all over the world travel to Mecca for the Hajj.
Jihad in Arabic means struggle, and for most Muslims it means the inner struggle to live well.
Frohes Zuckerfest an alle, die heute feiern!
Bonne fête de l'Aïd à tous nos amis musulmans.
Mi vecino musulmán nos invitó a romper el ayuno con su familia.""".splitlines()

rows = []
def add(kind, texts, labels):
    for i, t in enumerate(texts):
        t = t.strip()
        if t:
            rows.append({"id": f"contrast:{kind}:{i}", "text": t, "labels": labels, "lang": None,
                         "set": "tamis_contrast", "group": kind, "meta": {}})
zeros = {h: 0 for h in ["sexual", "hate", "harassment", "harassment/threatening", "violence", "self-harm", "extremism", "spam", "scam"]}
add("benign_risky_words", BENIGN_RISKY, {**zeros, "any": 0})
add("support_and_identity", SUPPORT, {**zeros, "profanity": 0, "any": 0})
add("untargeted_profanity", PROFANE_NO_TARGET, {"hate": 0, "harassment": 0, "harassment/threatening": 0, "violence": 0, "extremism": 0, "profanity": 1, "any": 1})

add("threats", THREATS, {"harassment": 1, "harassment/threatening": 1, "violence": 1, "hate": 0, "extremism": 0,
                         "sexual": 0, "self-harm": 0, "spam": 0, "scam": 0, "any": 1})
add("self_harm", SELF_HARM, {"self-harm": 1, "hate": 0, "harassment": 0, "harassment/threatening": 0, "extremism": 0,
                             "sexual": 0, "spam": 0, "scam": 0, "any": 1})
add("insults", INSULTS, {"harassment": 1, "hate": 0, "harassment/threatening": 0, "violence": 0, "extremism": 0,
                         "sexual": 0, "self-harm": 0, "spam": 0, "scam": 0, "any": 1})
add("faith", FAITH, {**zeros, "profanity": 0, "any": 0})
add("web_spam", WEB_SPAM, {"spam": 1, "hate": 0, "harassment": 0, "harassment/threatening": 0, "violence": 0,
                           "extremism": 0, "sexual": 0, "self-harm": 0, "any": 1})

# The sentences in the probe languages (contrast_multilingual.py): their language is known, not guessed.
from contrast_multilingual import EVERYDAY_MORE, EVERYDAY_VI, HARD_NEGATIVES, MONEY_EVERYDAY, PROMO_HARD_NEGATIVES, SCAMS, SELF_HARM_ACTS, SPAM, INSULTS as INSULTS_ML, SELF_HARM_SUPPORT, SEXUAL_HEALTH, THREATS as THREATS_ML

def labels_of(group):
    """The labels of an English group above, for its sentences in other languages."""
    return next(r["labels"] for r in rows if r["group"] == group)

def add_languages(kind, by_lang, labels):
    for lang, texts in by_lang.items():
        for i, t in enumerate(texts):
            rows.append({"id": f"contrast:{kind}:{lang}:{i}", "text": t.strip(), "labels": labels, "lang": lang,
                         "set": "tamis_contrast", "group": kind, "meta": {}})

add_languages("threats_multilingual", THREATS_ML, labels_of("threats"))
add_languages("insults_multilingual", INSULTS_ML, labels_of("insults"))
add_languages("hard_negatives_multilingual", HARD_NEGATIVES, {**zeros, "profanity": 0, "any": 0})
add_languages("self_harm_support", SELF_HARM_SUPPORT, {**zeros, "profanity": 0, "any": 0})
add_languages("sexual_health", SEXUAL_HEALTH, {**zeros, "profanity": 0, "any": 0})
add_languages("everyday_vi", EVERYDAY_VI, {**zeros, "profanity": 0, "any": 0})
add_languages("everyday_more", EVERYDAY_MORE, {**zeros, "profanity": 0, "any": 0})
add_languages("self_harm_acts", SELF_HARM_ACTS, labels_of("self_harm"))
no_abuse = {"hate": 0, "harassment": 0, "harassment/threatening": 0, "violence": 0, "extremism": 0, "sexual": 0, "self-harm": 0}
add_languages("scams_multilingual", SCAMS, {**no_abuse, "spam": 1, "scam": 1, "any": 1})
add_languages("spam_multilingual", SPAM, {**no_abuse, "spam": 1, "any": 1})
add_languages("promo_hard_negatives", PROMO_HARD_NEGATIVES, {**zeros, "profanity": 0, "any": 0})
add_languages("money_everyday", MONEY_EVERYDAY, {**zeros, "profanity": 0, "any": 0})

# Explicit hate against groups and the same groups in clean sentences (contrast_groups.py), as many of each.
from contrast_groups import CLEAN as GROUP_CLEAN, HATEFUL as GROUP_HATEFUL, VIOLENT as GROUP_VIOLENT, sentences

group_hate = {"hate": 1, "any": 1, "sexual": 0, "self-harm": 0, "spam": 0, "scam": 0}
add_languages("group_hate", sentences(GROUP_HATEFUL), group_hate)
add_languages("group_hate_violent", sentences(GROUP_VIOLENT), {**group_hate, "violence": 1})
add_languages("group_mentions", sentences(GROUP_CLEAN), {**zeros, "profanity": 0, "any": 0})

# Personal threats and insults of the shapes the groups above lacked, as a parallel set, with hard negatives
# (contrast_personal.py)
import contrast_personal as personal

add_languages("threat_shapes_multilingual", personal.THREATS, labels_of("threats"))
add_languages("insults_parallel", personal.INSULTS, labels_of("insults"))
add_languages("personal_hard_negatives", personal.HARD_NEGATIVES, {**zeros, "profanity": 0, "any": 0})
add_languages("compliments", personal.COMPLIMENTS, {**zeros, "profanity": 0, "any": 0})
add_languages("errands", personal.ERRANDS, {**zeros, "profanity": 0, "any": 0})

for r in rows:
    if r["lang"] is None:
        r["lang"] = py3langid.classify(r["text"])[0]
out = Path(__file__).with_name("tamis_contrast.jsonl.gz")
with gzip.GzipFile(out, "wb", mtime=0) as fh:
    for r in rows:
        fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode())
print(len(rows))
