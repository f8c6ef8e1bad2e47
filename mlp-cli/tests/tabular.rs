//! `mlp train`, `mlp evaluate` and `mlp predict` end to end on real tabular data
//! (scikit-learn's `iris.csv` and `boston_house_prices.csv` from `$MLP_DATA/tabular`) and
//! on files written here: a CSV with text labels and a header, gzipped CSV and TSV, `.npy`
//! features with `.npy` targets, and a Keras-style `.npz` (all written from Rust bytes, no
//! Python).
//!
//! Every run uses `specs/examples/tabular.mlp`. Beyond the exit codes, the three commands
//! are checked against each other: the accuracy (or mae and mse) that `evaluate` prints is
//! the one computed here from what `predict` wrote, and the same rows read from a CSV and
//! from `.npy` files train to the same History bit for bit.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use mlp_test_support::{assert_exit, npy, output, stderr, stdout, tabular_dir, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

/// The class names of iris's targets 0, 1, 2 (scikit-learn's metadata line).
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

fn spec() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/examples/tabular.mlp")
        .display()
        .to_string()
}

fn iris_csv() -> String {
    tabular_dir().join("iris.csv").display().to_string()
}

fn boston_csv() -> String {
    tabular_dir()
        .join("boston_house_prices.csv")
        .display()
        .to_string()
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    output(MLP.command(dir).args(args))
}

/// Iris's rows: the four measurements and the class, parsed here (not by the runtime).
fn iris() -> Vec<([f32; 4], usize)> {
    let text = fs::read_to_string(iris_csv()).expect("iris.csv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 5, "{line}");
            let mut x = [0.0f32; 4];
            for (x, cell) in x.iter_mut().zip(&cells) {
                *x = cell.parse().expect("a number");
            }
            (x, cells[4].parse().expect("a class"))
        })
        .collect()
}

/// The History in `path` (JSON).
fn history(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).expect("the History")).expect("JSON")
}

fn series(h: &serde_json::Value, key: &str) -> Vec<f64> {
    h[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` in the History: {h}"))
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// `N/N - loss: L - name: V …`, Keras's evaluate line, as (steps, [(name, value)]).
fn evaluate_line(out: &str) -> (usize, Vec<(String, f64)>) {
    let line = out.trim_end();
    assert_eq!(line.lines().count(), 1, "one line: {out}");
    let (steps, rest) = line.split_once(" - ").expect("steps - metrics");
    let (done, total) = steps.split_once('/').expect("N/N");
    assert_eq!(done, total, "{line}");
    let values = rest
        .split(" - ")
        .map(|part| {
            let (name, value) = part.split_once(": ").expect("name: value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect();
    (total.parse().expect("steps"), values)
}

/// The rows of a predictions CSV after its header, split into cells.
fn prediction_rows(text: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header));
    lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn iris_csv_trains_evaluates_and_predicts_one_row_per_sample() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (spec, data) = (spec(), iris_csv());
    let common = ["--model", "Iris", "--data", &data, "--skip-rows", "1"];
    let mut train = vec!["train", &spec];
    train.extend(common);
    train.extend([
        "--save",
        "iris.safetensors",
        "--history",
        "h.json",
        "--quiet",
    ]);
    let out = run(d, &train);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "", "--quiet");
    assert!(d.join("iris.safetensors").is_file());
    assert_eq!(series(&history(&d.join("h.json")), "loss").len(), 50);

    let mut evaluate = vec!["evaluate", &spec, "--weights", "iris.safetensors"];
    evaluate.extend(common);
    let out = run(d, &evaluate);
    assert_exit(&out, 0);
    let (steps, values) = evaluate_line(&stdout(&out));
    // 150 rows in batches of the spec's 16.
    assert_eq!(steps, 10);
    let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["loss", "accuracy"]);
    let (loss, accuracy) = (values[0].1, values[1].1);
    assert!(loss > 0.0 && loss < 0.6, "loss {loss}");
    assert!(accuracy > 0.8, "accuracy {accuracy}");

    let mut predict = vec!["predict", &spec, "--weights", "iris.safetensors"];
    predict.extend(common);
    predict.extend(["--out", "p.csv"]);
    let out = run(d, &predict);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("Predictions for 150 samples written to p.csv"),
        "{}",
        stderr(&out)
    );
    let text = fs::read_to_string(d.join("p.csv")).unwrap();
    let rows = prediction_rows(&text, "output_0,output_1,output_2,class");
    let truth = iris();
    assert_eq!(rows.len(), truth.len(), "one row per sample");
    let mut right = 0;
    for (row, (_, class)) in rows.iter().zip(&truth) {
        let p: Vec<f32> = row[..3].iter().map(|c| c.parse().unwrap()).collect();
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        let argmax = (0..3).fold(0, |best, j| if p[j] > p[best] { j } else { best });
        assert_eq!(row[3], argmax.to_string(), "{row:?}");
        right += usize::from(argmax == *class);
    }
    // evaluate's accuracy (4 decimals) is the one of predict's classes.
    let ours = right as f64 / truth.len() as f64;
    assert!((ours - accuracy).abs() < 5.1e-5, "{ours} vs {accuracy}");
}

#[test]
fn text_labels_train_and_predict_prints_the_names_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("sepal_length,sepal_width,petal_length,petal_width,species\n");
    for (x, class) in iris() {
        let cells: Vec<String> = x.iter().map(ToString::to_string).collect();
        writeln!(csv, "{},{}", cells.join(","), SPECIES[class]).unwrap();
    }
    fs::write(d.join("named.csv"), csv).unwrap();
    let spec = spec();
    let out = run(
        d,
        &[
            "train",
            &spec,
            "--model",
            "Iris",
            "--data",
            "named.csv",
            "--save",
            "n.safetensors",
            "--quiet",
        ],
    );
    assert_exit(&out, 0);
    let out = run(
        d,
        &[
            "predict",
            &spec,
            "--model",
            "Iris",
            "--weights",
            "n.safetensors",
            "--data",
            "named.csv",
        ],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    let rows = prediction_rows(&text, "output_0,output_1,output_2,class");
    let truth = iris();
    assert_eq!(rows.len(), truth.len());
    let mut right = 0;
    for (row, (_, class)) in rows.iter().zip(&truth) {
        let p: Vec<f32> = row[..3].iter().map(|c| c.parse().unwrap()).collect();
        let argmax = (0..3).fold(0, |best, j| if p[j] > p[best] { j } else { best });
        // The names sort as the indices do: output j is the j-th name.
        assert_eq!(row[3], SPECIES[argmax], "{row:?}");
        right += usize::from(row[3] == SPECIES[*class]);
    }
    assert!(
        right * 10 > truth.len() * 8,
        "{right} of {} right",
        truth.len()
    );
    assert_eq!(rows[0][3], "setosa");
    // The features alone (no label column: as many columns as the model's inputs) give the
    // same predictions.
    let mut features = String::new();
    for line in fs::read_to_string(d.join("named.csv")).unwrap().lines() {
        features.push_str(line.rsplit_once(',').unwrap().0);
        features.push('\n');
    }
    fs::write(d.join("features.csv"), features).unwrap();
    let out = run(
        d,
        &[
            "predict",
            &spec,
            "--model",
            "Iris",
            "--weights",
            "n.safetensors",
            "--data",
            "features.csv",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), text);
    // evaluate reads the names as the same classes.
    let out = run(
        d,
        &[
            "evaluate",
            &spec,
            "--model",
            "Iris",
            "--weights",
            "n.safetensors",
            "--data",
            "named.csv",
        ],
    );
    assert_exit(&out, 0);
    let (_, values) = evaluate_line(&stdout(&out));
    let accuracy = values[1].1;
    let ours = right as f64 / truth.len() as f64;
    assert!((ours - accuracy).abs() < 5.1e-5, "{ours} vs {accuracy}");
}

/// A zip archive of `.npy` members, as `np.savez` writes one.
fn npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let file = fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn npy_features_with_npy_targets_and_a_keras_npz_train() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = iris();
    let x: Vec<f32> = rows.iter().flat_map(|(x, _)| *x).collect();
    let y: Vec<i64> = rows.iter().map(|&(_, c)| c as i64).collect();
    fs::write(d.join("x.npy"), npy::f32s(&[rows.len(), 4], &x)).unwrap();
    fs::write(d.join("y.npy"), npy::i64s(&[rows.len()], &y)).unwrap();
    let (spec, csv) = (spec(), iris_csv());
    let train = |data: &[&str], file: &str| {
        let mut args = vec![
            "train",
            &spec,
            "--model",
            "Iris",
            "--quiet",
            "--history",
            file,
        ];
        args.extend_from_slice(data);
        let out = run(d, &args);
        assert_exit(&out, 0);
        history(&d.join(file))
    };
    let from_npy = train(&["--data", "x.npy", "--target", "y.npy"], "npy.json");
    let from_csv = train(&["--data", &csv, "--skip-rows", "1"], "csv.json");
    assert_eq!(from_npy["loss"].as_array().map(Vec::len), Some(50));
    // The same rows, the same seed: the same training, whatever the file format.
    assert_eq!(from_npy["loss"], from_csv["loss"]);
    assert_eq!(from_npy["accuracy"], from_csv["accuracy"]);

    // A Keras-style archive: every fifth row held out as x_test / y_test, the validation.
    let (mut train_x, mut train_y, mut test_x, mut test_y) = (vec![], vec![], vec![], vec![]);
    for (i, (features, class)) in rows.iter().enumerate() {
        let (xs, ys) = if i % 5 == 4 {
            (&mut test_x, &mut test_y)
        } else {
            (&mut train_x, &mut train_y)
        };
        xs.extend_from_slice(features);
        ys.push(*class as i64);
    }
    let (n_train, n_test) = (train_y.len(), test_y.len());
    npz(
        &d.join("iris.npz"),
        &[
            ("x_train", npy::f32s(&[n_train, 4], &train_x)),
            ("y_train", npy::i64s(&[n_train], &train_y)),
            ("x_test", npy::f32s(&[n_test, 4], &test_x)),
            ("y_test", npy::i64s(&[n_test], &test_y)),
        ],
    );
    let h = train(
        &["--data", "iris.npz", "--save", "z.safetensors"],
        "npz.json",
    );
    assert_eq!(series(&h, "val_loss").len(), 50);
    let val_accuracy = series(&h, "val_accuracy");
    assert!(*val_accuracy.last().unwrap() > 0.8, "{val_accuracy:?}");
    // The held-out rows evaluate as the last epoch's validation did.
    fs::write(d.join("xt.npy"), npy::f32s(&[n_test, 4], &test_x)).unwrap();
    fs::write(d.join("yt.npy"), npy::i64s(&[n_test], &test_y)).unwrap();
    let out = run(
        d,
        &[
            "evaluate",
            &spec,
            "--model",
            "Iris",
            "--weights",
            "z.safetensors",
            "--data",
            "xt.npy",
            "--target",
            "yt.npy",
        ],
    );
    assert_exit(&out, 0);
    let (_, values) = evaluate_line(&stdout(&out));
    let val_loss = *series(&h, "val_loss").last().unwrap();
    assert!(
        (values[0].1 - val_loss).abs() < 1e-4,
        "{values:?} vs {val_loss}"
    );
    assert!((values[1].1 - val_accuracy.last().unwrap()).abs() < 1e-4);
}

/// The `(rows, cols)` `f32` array of a `.npy` file `mlp predict` wrote.
fn read_f32_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let length = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + length) % 64, 0, "aligned data");
    let header = std::str::from_utf8(&bytes[10..10 + length]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"));
    let shape = header
        .split_once("'shape': (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(dims, _)| dims)
        .unwrap();
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[10 + length..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(dims.len(), 2, "{header}");
    assert_eq!(values.len(), dims[0] * dims[1]);
    (dims[0], dims[1], values)
}

#[test]
fn boston_regression_on_a_named_target_reports_mae() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (spec, data) = (spec(), boston_csv());
    // Line 1 is scikit-learn's metadata, line 2 the header.
    let common = [
        "--model",
        "Housing",
        "--data",
        &data,
        "--skip-rows",
        "1",
        "--target",
        "MEDV",
    ];
    let mut train = vec!["train", &spec];
    train.extend(common);
    train.extend(["--save", "h.safetensors", "--history", "h.json", "--quiet"]);
    let out = run(d, &train);
    assert_exit(&out, 0);
    let h = history(&d.join("h.json"));
    // The spec's validation_split = 0.2 and metrics = [mae].
    for key in ["loss", "mae", "val_loss", "val_mae"] {
        assert_eq!(series(&h, key).len(), 100, "{key}");
    }
    // MEDV, the last cell of each data row.
    let text = fs::read_to_string(&data).unwrap();
    let medv: Vec<f64> = text
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(medv.len(), 506);
    // The split is the file's last 102 rows (no shuffling before it, as in Keras), which
    // are harder than a random tail (Keras reaches about 2.0 on a permuted split after 200
    // epochs, results.json). A model that learned nothing predicts about the training
    // mean: its mae on the tail is about 8.4.
    let (head, tail) = medv.split_at(404);
    let mean = head.iter().sum::<f64>() / head.len() as f64;
    let baseline = tail.iter().map(|t| (t - mean).abs()).sum::<f64>() / tail.len() as f64;
    let val_mae = *series(&h, "val_mae").last().unwrap();
    assert!(
        val_mae < 0.75 * baseline,
        "val_mae {val_mae}, the mean's {baseline}"
    );

    let mut evaluate = vec!["evaluate", &spec, "--weights", "h.safetensors"];
    evaluate.extend(common);
    let out = run(d, &evaluate);
    assert_exit(&out, 0);
    let (steps, values) = evaluate_line(&stdout(&out));
    assert_eq!(steps, 506usize.div_ceil(32));
    let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["loss", "mae"]);

    let mut predict = vec!["predict", &spec, "--weights", "h.safetensors"];
    predict.extend(common);
    predict.extend(["--out", "p.npy"]);
    let out = run(d, &predict);
    assert_exit(&out, 0);
    let (rows, cols, p) = read_f32_npy(&d.join("p.npy"));
    assert_eq!((rows, cols), (506, 1));
    let n = rows as f64;
    let mae = p
        .iter()
        .zip(&medv)
        .map(|(&p, t)| (f64::from(p) - t).abs())
        .sum::<f64>()
        / n;
    let mse = p
        .iter()
        .zip(&medv)
        .map(|(&p, t)| (f64::from(p) - t).powi(2))
        .sum::<f64>()
        / n;
    // evaluate's loss (mse) and mae are those of predict's outputs.
    assert!(
        (mse - values[0].1).abs() <= 1e-4 * mse + 5.1e-5,
        "{mse} vs {values:?}"
    );
    assert!(
        (mae - values[1].1).abs() <= 1e-4 * mae + 5.1e-5,
        "{mae} vs {values:?}"
    );
}

/// `data.csv.gz` and `data.tsv.gz` are tables (the reader decompresses them), the header
/// told apart after decompression: the same History as the plain file.
#[test]
fn gzipped_tables_train_as_the_plain_file() {
    use flate2::write::GzEncoder;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gzip = |name: &str, bytes: &[u8]| {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        fs::write(d.join(name), encoder.finish().unwrap()).unwrap();
    };
    let plain = fs::read(iris_csv()).unwrap();
    gzip("iris.csv.gz", &plain);
    // The same rows as a TSV with a header and text labels.
    let mut tsv = String::from("sl\tsw\tpl\tpw\tspecies\n");
    for (x, class) in iris() {
        let cells: Vec<String> = x.iter().map(ToString::to_string).collect();
        writeln!(tsv, "{}\t{}", cells.join("\t"), SPECIES[class]).unwrap();
    }
    gzip("named.tsv.gz", tsv.as_bytes());
    let spec = spec();
    let csv = iris_csv();
    let train = |data: &[&str], file: &str| {
        let mut args = vec![
            "train",
            &spec,
            "--model",
            "Iris",
            "--quiet",
            "--history",
            file,
        ];
        args.extend_from_slice(data);
        let out = run(d, &args);
        assert_exit(&out, 0);
        history(&d.join(file))
    };
    let from_plain = train(&["--data", &csv, "--skip-rows", "1"], "plain.json");
    let from_gzip = train(&["--data", "iris.csv.gz", "--skip-rows", "1"], "gz.json");
    let from_tsv = train(&["--data", "named.tsv.gz"], "tsv.json");
    assert_eq!(series(&from_plain, "loss").len(), 50);
    assert_eq!(from_gzip["loss"], from_plain["loss"]);
    assert_eq!(from_tsv["loss"], from_plain["loss"]);
}

#[test]
fn a_validation_split_validates_on_the_rows_of_the_same_validation_file() {
    // Housing's `validation_split = 0.2` of boston's 506 rows: the first floor(506 * 0.8) =
    // 404 train, the last 102 validate. The same rows written as two files and passed as
    // --data and --validation-data train to the same History bit for bit: the split (taken
    // in place by `mlp train`) holds exactly those rows, in order, and Normalization is
    // adapted on the 404 alone.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = fs::read_to_string(boston_csv()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // Line 1 is scikit-learn's metadata, line 2 the header.
    let (head, rows) = lines.split_at(2);
    assert_eq!(rows.len(), 506);
    let write = |name: &str, rows: &[&str]| {
        let mut file = head.join("\n");
        for row in rows {
            file.push('\n');
            file.push_str(row);
        }
        fs::write(d.join(name), file + "\n").unwrap();
    };
    write("train.csv", &rows[..404]);
    write("validation.csv", &rows[404..]);
    let spec = spec();
    let data = boston_csv();
    let train = |data: &[&str], file: &str| {
        let mut args = vec![
            "train",
            &spec,
            "--model",
            "Housing",
            "--epochs",
            "5",
            "--skip-rows",
            "1",
            "--target",
            "MEDV",
            "--quiet",
            "--history",
            file,
        ];
        args.extend_from_slice(data);
        let out = run(d, &args);
        assert_exit(&out, 0);
        history(&d.join(file))
    };
    let split = train(&["--data", &data], "split.json");
    let files = train(
        &["--data", "train.csv", "--validation-data", "validation.csv"],
        "files.json",
    );
    let flag = train(&["--data", &data, "--validation-split", "0.2"], "flag.json");
    assert_eq!(series(&split, "val_loss").len(), 5);
    for key in ["loss", "mae", "val_loss", "val_mae"] {
        assert_eq!(split[key], files[key], "{key}");
        assert_eq!(flag[key], files[key], "{key}");
    }
    // Another fraction moves the boundary, and the validation loss with it.
    let other = train(
        &["--data", &data, "--validation-split", "0.3"],
        "other.json",
    );
    assert_ne!(other["val_loss"], files["val_loss"]);
}
