namespace RactoGateway.Redis.Tests;

/// <summary>
/// The recall quality test's conversation: 50 personal facts, each with a question that asks for it (most in other words
/// than the fact's own, e.g. "My dog is called Biscuit." / "What's my dog's name?"), planted among turns of everyday
/// chatter generated deterministically from templates × topics with a seeded <see cref="Random"/>. Some chatter topics
/// deliberately sit near facts (dog training, sourdough, marathons, gardening, languages): real conversations do that.
/// </summary>
internal static class RecallQualityCorpus
{
    /// <summary>One fact a user states in passing, and a later question whose answer is that message.</summary>
    public sealed record Fact(string Statement, string Question);

    public static readonly Fact[] Facts =
    [
        new("By the way, my dog is called Biscuit.", "What's my dog's name?"),
        new("I was born in Porto, up in the north of Portugal.", "Which city do I come from originally?"),
        new("I'm allergic to peanuts, so I have to check every label.", "Is there any food I must avoid?"),
        new("My favourite book is One Hundred Years of Solitude.", "Which novel do I love most?"),
        new("My sister works as an air traffic controller at Heathrow.", "What does my sister do for a living?"),
        new("My wife's name is Ingrid.", "What is my spouse called?"),
        new("I drive an old green Volvo estate from 1998.", "What kind of car do I have?"),
        new("My blood type is O negative.", "Do you remember my blood group?"),
        new("I play the cello in an amateur orchestra on Thursdays.", "Which musical instrument do I play?"),
        new("My daughter Mila just turned seven.", "How old is my little girl?"),
        new("I take my coffee black with no sugar.", "How do I like my coffee?"),
        new("My first job was delivering newspapers on a bicycle.", "What was the first work I ever did?"),
        new("I'm scared of heights, even a ladder makes me dizzy.", "What phobia do I have?"),
        new("Our cat Pixel only eats salmon-flavoured food.", "What does my cat like to eat?"),
        new("I studied marine biology at university in Aberdeen.", "What was my degree in?"),
        new("My favourite film is Spirited Away.", "Which movie is my all-time favourite?"),
        new("I've been vegetarian since I was sixteen.", "Do I eat meat?"),
        new("My brother Tomasz lives in Vancouver now.", "Where is my brother living these days?"),
        new("My birthday is on the ninth of March.", "When is my birthday?"),
        new("I run a small bakery that sells sourdough bread.", "What kind of business do I own?"),
        new("My grandmother taught me to knit when I was eight.", "Who showed me how to knit?"),
        new("I broke my left wrist skiing two winters ago.", "Have I ever fractured a bone?"),
        new("My favourite colour is teal.", "Which colour do I like best?"),
        new("I'm learning Japanese on weekends with a tutor.", "What language am I studying?"),
        new("My partner snores loudly, so I sleep with earplugs.", "Why do I have trouble sleeping next to my partner?"),
        new("My son is called Felix and he loves dinosaurs.", "What's my boy's name?"),
        new("I'm lactose intolerant.", "Can I drink milk?"),
        new("I support Celtic football club.", "Which soccer team am I a fan of?"),
        new("My apartment is on the fourteenth floor with a view of the river.", "How high up is my flat?"),
        new("My favourite dish is my mother's mushroom risotto.", "What meal do I love the most?"),
        new("I've been married for twelve years.", "How long ago was my wedding?"),
        new("My best friend from school is called Anika.", "Who is my closest childhood friend?"),
        new("I work night shifts as a paramedic.", "What is my profession?"),
        new("My dad was a lighthouse keeper in Cornwall.", "What did my father do for work?"),
        new("I have a tattoo of a swallow on my shoulder.", "Do I have any body art?"),
        new("My favourite season is autumn because of the colours.", "Which time of year do I prefer?"),
        new("I keep three beehives in my back garden.", "Do I produce my own honey?"),
        new("My first pet was a hamster named Nugget.", "What animal did I have as my very first pet?"),
        new("I'm training for the Berlin marathon in September.", "What race am I preparing for?"),
        new("I can't stand coriander, it tastes like soap to me.", "Which herb do I hate?"),
        new("My niece Chloe is studying architecture in Delft.", "What is my niece studying?"),
        new("I wear glasses for reading but not for driving.", "Do I need spectacles?"),
        new("My favourite band is Radiohead.", "Which group do I listen to most?"),
        new("I moved to Edinburgh in 2015 for work.", "When did I relocate to Scotland?"),
        new("My boss is a woman called Priya who micromanages everything.", "Who is my manager?"),
        new("I grow tomatoes and chillies on my balcony.", "What vegetables do I grow at home?"),
        new("My favourite holiday destination is Crete.", "Where do I like to go on vacation?"),
        new("I'm colourblind and mix up red and green.", "Can I tell red from green?"),
        new("My mother is a retired primary school teacher.", "What did my mum do before she retired?"),
        new("I speak Polish at home with my parents.", "Which language do I use with my family?"),
    ];

    private sealed record Topic(string Name, string[] Things, string[] Actions, string[] Tips);

    private static readonly Topic[] Topics =
    [
        new("cooking pasta", ["fresh pasta", "a tomato sauce", "pasta water", "a carbonara"], ["salt the water generously", "cook the pasta two minutes less than the packet says", "finish the pasta in the pan with the sauce"], ["save a cup of the cooking water", "use a wide pan", "grate the cheese finely"]),
        new("gardening", ["compost", "raised beds", "seedlings", "mulch"], ["water early in the morning", "test your soil", "plant in the evening"], ["start with easy plants like herbs", "keep a planting diary", "rotate where you plant things each year"]),
        new("personal finance", ["an emergency fund", "index funds", "a monthly budget", "credit card debt"], ["track your spending for a month", "automate your savings", "pay off the expensive debt first"], ["keep three months of costs aside", "avoid lifestyle creep", "check your subscriptions"]),
        new("Python programming", ["list comprehensions", "virtual environments", "type hints", "unit tests"], ["write a small script every day", "read other people's code", "use a linter"], ["keep functions short", "name things clearly", "learn the standard library first"]),
        new("travelling in Japan", ["the rail pass", "ryokan stays", "the Shinkansen", "convenience store food"], ["book hotels early in cherry blossom season", "carry some cash", "learn a few polite phrases"], ["Kyoto is quieter early in the morning", "trains are very punctual", "IC cards save time"]),
        new("home workouts", ["push-ups", "resistance bands", "a yoga mat", "interval training"], ["warm up for five minutes", "train three times a week", "increase the reps slowly"], ["form matters more than speed", "rest days are part of training", "sleep helps recovery"]),
        new("photography", ["the aperture", "a prime lens", "the golden hour", "the rule of thirds"], ["shoot in manual mode for a week", "take one photo a day", "edit your pictures lightly"], ["light is everything", "get closer to your subject", "clean your lens"]),
        new("dog training", ["recall training", "a clicker", "lead pulling", "puppy classes"], ["reward good behaviour immediately", "keep sessions short", "practise in quiet places first"], ["consistency beats long sessions", "treats work better than scolding", "tired dogs learn less"]),
        new("baking bread", ["a sourdough starter", "the proofing time", "bread flour", "a Dutch oven"], ["feed the starter every day", "knead until the dough is smooth", "bake at a high temperature"], ["weigh your ingredients", "a longer proof gives more flavour", "let the loaf cool before slicing"]),
        new("marathon running", ["long runs", "running shoes", "energy gels", "tapering"], ["build your mileage slowly", "run most miles at an easy pace", "practise your race-day breakfast"], ["do not try anything new on race day", "hydrate during long runs", "replace shoes every 600 kilometres"]),
        new("learning languages", ["flashcards", "grammar drills", "a language exchange", "podcasts for learners"], ["practise a little every day", "speak from the first week", "read children's books"], ["mistakes are part of the process", "spaced repetition works", "immersion speeds things up"]),
        new("astronomy", ["a telescope", "the Andromeda galaxy", "light pollution", "a star chart"], ["let your eyes adapt to the dark", "start with binoculars", "find a dark-sky site"], ["the Moon is the easiest target", "check the weather forecast", "red torches keep your night vision"]),
        new("chess", ["openings", "endgames", "tactics puzzles", "the Sicilian defence"], ["solve puzzles every day", "review your lost games", "play longer time controls"], ["control the centre", "develop your pieces early", "castle early"]),
        new("car maintenance", ["the tyre pressure", "an oil change", "the brake pads", "the battery"], ["check the tyres monthly", "follow the service schedule", "listen for new noises"], ["cheap tyres are a false economy", "keep the manual in the car", "warning lights deserve attention"]),
        new("job interviews", ["the STAR method", "salary negotiation", "a portfolio", "questions for the interviewer"], ["research the company", "practise out loud", "prepare three stories"], ["be specific about results", "arrive ten minutes early", "send a short thank-you note"]),
        new("meditation", ["breathing exercises", "a meditation app", "body scans", "mindfulness"], ["start with five minutes a day", "sit at the same time every day", "notice when your mind wanders"], ["there is no perfect session", "consistency matters more than length", "a quiet corner helps"]),
        new("Roman history", ["the Republic", "Julius Caesar", "the aqueducts", "the fall of the Western Empire"], ["read Mary Beard's SPQR", "visit the Forum", "watch a good documentary"], ["sources are often biased", "the empire lasted centuries", "archaeology fills many gaps"]),
        new("climate change", ["renewable energy", "heat pumps", "carbon footprints", "electric cars"], ["insulate your home", "cut food waste", "take the train when you can"], ["small changes add up", "policy matters more than guilt", "data beats opinions"]),
        new("video games", ["open-world games", "a gaming PC", "indie games", "the Nintendo Switch"], ["set a time limit", "try co-op games with friends", "wait for sales"], ["reviews can mislead", "story games suit short evenings", "comfort matters for long sessions"]),
        new("home renovation", ["the kitchen", "paint colours", "the flooring", "a contractor"], ["get three quotes", "plan the budget with a margin", "do the wiring first"], ["measure twice", "small rooms look bigger in light colours", "permits take time"]),
        new("coffee brewing", ["a French press", "an espresso machine", "the grind size", "cold brew"], ["grind just before brewing", "use filtered water", "weigh the beans"], ["fresh beans matter most", "clean the machine often", "water should be just off the boil"]),
        new("public speaking", ["slides", "stage fright", "storytelling", "the opening line"], ["rehearse in front of a friend", "record yourself", "slow down"], ["pause instead of saying um", "one idea per slide", "end with a clear message"]),
        new("machine learning", ["neural networks", "overfitting", "training data", "gradient descent"], ["start with a small dataset", "build a baseline first", "plot your data"], ["more data often beats a clever model", "validate on held-out data", "keep experiments reproducible"]),
        new("hiking", ["hiking boots", "a trail map", "layers of clothing", "a first-aid kit"], ["tell someone your route", "start early in the day", "check the weather"], ["pack more water than you think", "break in new boots first", "turn back if the weather turns"]),
        new("sleep", ["a bedtime routine", "blackout curtains", "caffeine", "screens before bed"], ["go to bed at the same time", "keep the bedroom cool", "avoid coffee after lunch"], ["naps should be short", "light in the morning helps", "a dark room helps"]),
        new("board games", ["strategy games", "party games", "Catan", "cooperative games"], ["teach the rules with a demo round", "start with short games", "host a weekly game night"], ["fewer rules mean more fun for new players", "sleeves protect the cards", "two-player games are a good start"]),
    ];

    private static readonly string[] UserTemplates =
    [
        "Can you explain the basics of {thing}?",
        "I've been reading about {name} lately. Where should a beginner start?",
        "What's a common mistake people make with {thing}?",
        "Is it worth spending money on {thing}?",
        "How long does it usually take to get good at {name}?",
        "A friend told me to forget about {thing}. What do you think?",
        "Could you give me a couple of quick tips for {name}?",
        "What's the difference between {thing} and {thing2}?",
        "Any good resources on {thing}?",
        "I tried to {action} yesterday and it didn't go that well.",
        "Thanks, that helps. What about {thing}?",
        "Is getting into {thing} a good idea for someone with little free time?",
        "Why do people say you should {action}?",
        "I keep getting confused about {thing}. Can you keep it simple?",
    ];

    private static readonly string[] AssistantTemplates =
    [
        "Good question. With {name}, {tip}. Most people find it pays to {action} early on.",
        "The short answer: getting {thing} right matters less than consistency. Try to {action} a few times a week.",
        "A common mistake is to ignore {thing}. Also, {tip}.",
        "It depends on your goals, but I'd {action} first and look at {thing2} later.",
        "{Thing} and {thing2} overlap a lot; the main difference is how much time each one takes.",
        "Here are a few ideas: {action}, keep notes, and don't skip {thing}.",
        "That's normal when you're starting out. Next time, remember that {tip}.",
        "Sure. Think of {thing} as the foundation of {name}: once it clicks, the rest gets easier.",
        "Honestly, {tip}. If you only change one thing, {action}.",
        "Many beginners ask that. A simple rule of thumb: {tip}.",
    ];

    // Openings and endings people and assistants add, so that a sentence is rarely repeated word for word.
    private static readonly string[] UserOpenings = ["", "", "", "Quick question. ", "Okay, next thing. ", "Hmm. ", "Hi again! ", "Sorry, one more. ", "Right. ", "Also: "];

    private static readonly string[] UserEndings = ["", "", "", " Thanks!", " I'm a complete beginner.", " No rush.", " Asking for a friend.", " Be honest.", " Keep it short please."];

    private static readonly string[] AssistantOpenings = ["", "", "", "Happy to help. ", "Let me think. ", "Right. ", "Sure thing. "];

    private static readonly string[] Acknowledgements =
    [
        "Thanks for telling me, I'll keep that in mind.", "Good to know!", "Noted.", "Oh, interesting. Thanks for sharing.",
        "Got it.", "That's lovely to hear.",
    ];

    /// <summary>
    /// <paramref name="turns"/> turns (user, then assistant) of chatter with every fact planted as a user message at an
    /// evenly spread turn before <paramref name="lastFactTurn"/>, answered by a plain acknowledgement. Returns the
    /// messages and, for each fact, its message's index (its position in the conversation).
    /// </summary>
    public static (List<(string Role, string Content)> Messages, int[] FactPositions) Conversation(int turns, int lastFactTurn, int seed)
    {
        var random = new Random(seed);
        var factTurns = new Dictionary<int, int>();
        var spacing = lastFactTurn / Facts.Length;
        for (var f = 0; f < Facts.Length; f++)
        {
            factTurns[(f * spacing) + random.Next(spacing)] = f;
        }

        var messages = new List<(string Role, string Content)>(turns * 2);
        var positions = new int[Facts.Length];
        var topic = Topics[0];
        var topicTurnsLeft = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var turn = 0; turn < turns; turn++)
        {
            if (factTurns.TryGetValue(turn, out var fact))
            {
                positions[fact] = messages.Count;
                messages.Add(("user", Facts[fact].Statement));
                messages.Add(("assistant", Pick(random, Acknowledgements)));
                continue;
            }

            // A topic lasts a few turns, as in a real conversation.
            if (topicTurnsLeft-- <= 0)
            {
                topic = Pick(random, Topics);
                topicTurnsLeft = random.Next(2, 8);
            }

            messages.Add(("user", Fresh(seen, () => Pick(random, UserOpenings) + Fill(Pick(random, UserTemplates), topic, random) + Pick(random, UserEndings))));
            messages.Add(("assistant", Fresh(seen, () => Pick(random, AssistantOpenings) + Fill(Pick(random, AssistantTemplates), topic, random))));
        }

        return (messages, positions);
    }

    /// <summary>A message not said before, if a few tries find one (people rarely repeat themselves word for word).</summary>
    private static string Fresh(HashSet<string> seen, Func<string> next)
    {
        var text = next();
        for (var tries = 0; tries < 20 && !seen.Add(text); tries++)
        {
            text = next();
        }

        return text;
    }

    private static string Fill(string template, Topic topic, Random random)
    {
        var thing = Pick(random, topic.Things);
        var thing2 = Pick(random, topic.Things.Where(t => t != thing).ToArray());
        return template
            .Replace("{Thing}", char.ToUpperInvariant(thing[0]) + thing[1..], StringComparison.Ordinal)
            .Replace("{thing}", thing, StringComparison.Ordinal)
            .Replace("{thing2}", thing2, StringComparison.Ordinal)
            .Replace("{name}", topic.Name, StringComparison.Ordinal)
            .Replace("{action}", Pick(random, topic.Actions), StringComparison.Ordinal)
            .Replace("{tip}", Pick(random, topic.Tips), StringComparison.Ordinal);
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
