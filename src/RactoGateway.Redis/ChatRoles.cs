namespace RactoGateway.Redis;

/// <summary>The roles <see cref="RedisChatMemory"/> accepts without <see cref="ChatMemoryConfig.AllowCustomRoles"/>.</summary>
public static class ChatRoles
{
    /// <summary>A message from the person using the application.</summary>
    public const string User = "user";

    /// <summary>A message from the model.</summary>
    public const string Assistant = "assistant";

    /// <summary>Instructions for the model.</summary>
    public const string System = "system";

    /// <summary>The result of a tool call. Python ractogateway's <c>Message</c> rejects this role: such messages are for .NET readers.</summary>
    public const string Tool = "tool";

    /// <summary>Whether <paramref name="role"/> is one of the four known roles (ordinal, lower case).</summary>
    /// <param name="role">The role to check.</param>
    /// <returns><see langword="true"/> for <c>user</c>, <c>assistant</c>, <c>system</c> and <c>tool</c>.</returns>
    public static bool IsKnown(string role) => role is User or Assistant or System or Tool;
}
