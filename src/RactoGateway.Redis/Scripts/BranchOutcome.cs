using StackExchange.Redis;

namespace RactoGateway.Redis.Scripts;

/// <summary>
/// The one reader of <c>branch.lua</c>'s reply, <c>{ok, least, most, ...}</c>, and of <c>restore.lua</c>'s when it
/// writes a fork's copy; and the one wording of their refusals (<see cref="ArgumentException"/>s naming the parameter, as
/// every bad argument of the memory is).
/// </summary>
/// <param name="Done">Whether the script did it; <see langword="false"/> when <c>keep</c> was refused (nothing written).</param>
/// <param name="Least">The smallest <c>keep</c> the conversation accepts: its pinned run and its summary, under a rolling summary.</param>
/// <param name="Most">The largest: every message <c>GetHistoryAsync</c> lists.</param>
/// <param name="Removed">A truncation's elements removed.</param>
/// <param name="Elements">A read's elements, oldest first, as stored.</param>
internal readonly record struct BranchOutcome(bool Done, long Least, long Most, long Removed, RedisValue[] Elements)
{
    /// <summary>The reply as the plain call gives it.</summary>
    public static BranchOutcome From(RedisResult result)
    {
        if (result.Resp2Type != ResultType.Array || result.Length < 3)
        {
            throw new RedisException($"branch.lua answered {result.Resp2Type} instead of an array of at least three.");
        }

        var done = (long)result[0] == 1;
        long least = (long)result[1], most = (long)result[2];
        if (!done || result.Length == 3)
        {
            return new(done, least, most, 0, []);
        }

        // A truncation answers one integer after the bounds; a read, the elements (bulk strings).
        if (result.Length == 4 && result[3].Resp2Type == ResultType.Integer)
        {
            return new(done, least, most, (long)result[3], []);
        }

        var elements = new RedisValue[result.Length - 3];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = (RedisValue)result[3 + i];
        }

        return new(done, least, most, 0, elements);
    }

    /// <summary>This outcome, or the refusal of <paramref name="keep"/> for <paramref name="conversationId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The script refused <paramref name="keep"/>: nothing was written.</exception>
    public BranchOutcome OrThrow(string conversationId, int keep, string paramName = "keep")
    {
        if (Done)
        {
            return this;
        }

        var message = keep > Most
            ? $"Conversation '{conversationId}' has {Most} message(s) as GetHistoryAsync lists them; keep must be at most {Most} (was {keep}). Nothing was written."
            : $"Conversation '{conversationId}' has a rolling summary: its first {Least} message(s) (the pinned system messages and the summary) and the messages waiting to be summarized hold what has left the window, and are kept whole; keep must be at least {Least} (was {keep}). Nothing was written.";
        throw new ArgumentOutOfRangeException(paramName, message);
    }

    /// <summary>restore.lua's reply to a fork's copy: the elements stored, or -1 when the target exists (nothing written).</summary>
    public static long Stored(RedisResult result) => (long)result;

    /// <summary>The refusal of a fork into <paramref name="targetId"/>, which exists and holds something else than the copy.</summary>
    public static ArgumentException TargetExists(string targetId, string paramName) =>
        new($"Conversation '{targetId}' already exists: a fork writes only into a conversation that does not exist, and nothing was written. Clear it first, or fork into another id.", paramName);
}
