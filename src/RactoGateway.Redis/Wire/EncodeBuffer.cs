using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RactoGateway.Redis.Wire;

/// <summary>
/// A reusable buffer that list elements are encoded into before an append is sent. StackExchange.Redis copies every
/// argument into its own pooled request buffer while the command is created, so the bytes are only needed until the
/// call returns: one buffer (and one <see cref="Utf8JsonWriter"/>) per thread is enough, and an append allocates no
/// <c>byte[]</c> per element.
/// </summary>
/// <remarks>Take one with <see cref="Rent"/> and give it back with <see cref="Dispose"/> once the command is created;
/// a buffer in use is out of the per-thread slot, so a nested use on the same thread gets a fresh one.</remarks>
internal sealed class EncodeBuffer : IBufferWriter<byte>, IDisposable
{
    private const int InitialSize = 4096;

    /// <summary>A buffer grown past this (a huge message) goes back to the shared pool instead of staying with the thread.</summary>
    private const int MaxKeptSize = 64 * 1024;

    [ThreadStatic]
    private static EncodeBuffer? t_cached;

    private readonly Utf8JsonWriter _json;
    private byte[] _buffer;
    private int _written;

    private EncodeBuffer()
    {
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        _json = new Utf8JsonWriter(this, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
    }

    /// <summary>Bytes written so far.</summary>
    public int Length => _written;

    /// <summary>This thread's buffer, empty, or a new one.</summary>
    public static EncodeBuffer Rent()
    {
        var buffer = t_cached;
        t_cached = null;
        return buffer ?? new EncodeBuffer();
    }

    /// <summary>Writes one element: the JSON of <paramref name="message"/>, exactly as <see cref="MessageCodec.Encode(ChatMemoryMessage)"/> returns it.</summary>
    public void WriteElement(ChatMemoryMessage message)
    {
        _json.Reset(this);
        MessageCodec.Write(_json, message);
        _json.Flush();
    }

    /// <summary>Writes raw bytes.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    /// <summary>The bytes at <paramref name="start"/>; valid until the next write or <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Slice(int start, int length) => new(_buffer, start, length);

    /// <summary>Empties the buffer and gives it back to this thread.</summary>
    public void Dispose()
    {
        _written = 0;
        if (_buffer.Length > MaxKeptSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        }

        t_cached = this;
    }

    /// <inheritdoc />
    public void Advance(int count) => _written += count;

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
