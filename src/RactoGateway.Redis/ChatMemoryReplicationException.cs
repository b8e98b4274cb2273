namespace RactoGateway.Redis;

/// <summary>
/// An append was stored on the Redis master, but fewer replicas than <see cref="ChatMemoryConfig.WaitForReplicas"/>
/// acknowledged it within <see cref="ChatMemoryConfig.WaitForReplicasTimeout"/>: it may be lost if that master fails
/// before replicating it. Retrying appends the message again (a duplicate if the first one survives).
/// </summary>
public sealed class ChatMemoryReplicationException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ChatMemoryReplicationException()
        : base("Fewer replicas than required acknowledged the append.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What happened.</param>
    public ChatMemoryReplicationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and its cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public ChatMemoryReplicationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an append that <paramref name="acknowledged"/> of <paramref name="required"/> replicas confirmed.</summary>
    /// <param name="required">The replicas required (<see cref="ChatMemoryConfig.WaitForReplicas"/>).</param>
    /// <param name="acknowledged">The replicas that acknowledged the append in time.</param>
    public ChatMemoryReplicationException(int required, long acknowledged)
        : base($"The append was stored on the master but acknowledged by {acknowledged} of the {required} required replicas; it may be lost if the master fails.")
    {
        Required = required;
        Acknowledged = acknowledged;
    }

    /// <summary>The replicas required.</summary>
    public int Required { get; }

    /// <summary>The replicas that acknowledged the append in time (0 when the master that stored it could not be asked).</summary>
    public long Acknowledged { get; }
}
