using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RactoGateway.Redis.Offline;

/// <summary>
/// The <see cref="IChatClient"/> plumbing both offline clients share: what <c>GetService</c> answers and a reply
/// streamed as one update. Internal, so that the package's public surface stays the two clients.
/// </summary>
internal static class OfflineClient
{
    /// <summary><paramref name="client"/> for a type it is an instance of, <paramref name="metadata"/> for
    /// <see cref="ChatClientMetadata"/>, nothing for any other type or for any key but <see langword="null"/>
    /// (what <see cref="IChatClient.GetService"/> promises of an unkeyed client).</summary>
    public static object? GetService(IChatClient client, ChatClientMetadata metadata, Type serviceType, object? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType.IsInstanceOfType(client) ? client
            : serviceType == typeof(ChatClientMetadata) ? metadata
            : null;
    }

    /// <summary>The reply as one update. It yields once first, so that the update arrives asynchronously as a real
    /// provider's would, and a token cancelled meanwhile is honoured.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> OneUpdate(ChatResponseUpdate update, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        yield return update;
    }
}
